"""One human sentence per event: who did what to which target, and the error if it failed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tap_tailscale.admin_audit.actions import (
    FAMILY,
    TEMPLATES,
    event_type,
    is_auth_provider_change,
)
from tap_tailscale.admin_audit.fields import key, mapping, text

AUTH_PROVIDER_TEMPLATE = "change the tailnet's identity provider"
OWNERSHIP_TEMPLATE = "transfer ownership of the tailnet to {t}"
FALLBACK_TEMPLATE = "perform {event} on {ttype} {t}"
_BARE_FALLBACK = "perform {event}"

# Events the control plane or the device itself usually causes: "alice expired
# the key" would be false, so when no user acted they read as a passive sentence.
PASSIVE_TEMPLATES: dict[str, str] = {
    "API_KEY.EXPIRED": "{kind} {tid} expired",
    "NODE.EXPIRED.KEY_EXPIRY_TIME": "the node key of device {t} expired",
}

# Only properties whose values are short, non-secret and telling go into summaries.
# WEBHOOK_ENDPOINT.UPDATE.SECRET in particular must never be quoted.
_VALUE_PROPERTIES = frozenset(
    {"USER_ROLE", "MACHINE_NAME", "ACL_TAGS", "KEY_EXPIRY_TIME", "MAX_KEY_DURATION"}
)
_MAX_VALUE_CHARS = 80
_IRREGULAR = {
    "log": "logged",
    "set": "set",
    "resend": "resent",
    "leave": "left",
    "make": "made",
    "transfer": "transferred",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(template: str, fields: Mapping[str, str]) -> str:
    """`template` with its placeholders filled, never repeating a word at a seam.

    When a value starts with the word just before its placeholder ("invite {t}" with
    "invite for bob"), that word is written once.
    """
    out = ""
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        out += template[position : match.start()]
        value = fields[match.group(1)]
        head, space, last = out.rstrip(" ").rpartition(" ")
        first = value.split(" ", 1)[0]
        if out.endswith(" ") and first and last.lower() == first.lower():
            out = head + space
        out += value
        position = match.end()
    return out + template[position:]


def past_tense(verb: str) -> str:
    """The simple past of a template's leading verb."""
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ied"
    return verb + "ed"


def to_past(phrase: str) -> str:
    """`phrase` with its first word in the past tense."""
    verb, _, rest = phrase.partition(" ")
    return f"{past_tense(verb)} {rest}" if rest else past_tense(verb)


def _actor_name(actor: Mapping[str, Any]) -> str | None:
    return text(actor.get("loginName")) or text(actor.get("displayName")) or text(actor.get("id"))


def _format_value(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, list):
        result = "[" + ", ".join(str(item) for item in value) + "]"
    elif isinstance(value, bool):
        result = "true" if value else "false"
    else:
        result = str(value)
    return result if 0 < len(result) <= _MAX_VALUE_CHARS else None


def _change_suffix(prop: str | None, old: Any, new: Any) -> str:
    if prop not in _VALUE_PROPERTIES:
        return ""
    old_text, new_text = _format_value(old), _format_value(new)
    if old_text is not None and new_text is not None:
        return f" from {old_text} to {new_text}"
    if new_text is not None:
        return f" to {new_text}"
    return ""


def template_for(
    ev_type: str, ttype: str | None, action: str | None, prop: str | None, normalized_action: str
) -> str:
    """The summary template for one event."""
    if normalized_action == "tailnet:transfer_ownership":
        return OWNERSHIP_TEMPLATE
    template = TEMPLATES.get(ev_type)
    if template is not None:
        return template
    if is_auth_provider_change(action, prop):
        return AUTH_PROVIDER_TEMPLATE
    if prop is not None:
        family = FAMILY.get((ttype or "", action or ""))
        if family is not None:
            return family.template
    return FALLBACK_TEMPLATE


def is_failure(ttype: str | None, error: str | None) -> bool:
    """Whether the event records a change that did not go through."""
    return error is not None or ttype == "FAILED_REQUEST"


# `target.name` of an `API_KEY` event, as the live API writes it, and the kind it names.
_KEY_KINDS = {
    "auth key": "auth key",
    "api access token": "API access token",
    "control api key": "API access token",
    "oauth client": "OAuth client",
    "federated identity": "federated identity",
}
_NODE_AUTH_CAPABILITIES = frozenset({"ONE_OFF_NODE_AUTH", "REUSABLE_NODE_AUTH", "EPHEMERAL"})


def key_kind(target: Mapping[str, Any], new: Any) -> str:
    """What an `API_KEY` event's key is: auth key, API access token, OAuth client, or API key.

    Node-auth capabilities in `new` make an auth key; else `target.name` tells (the live
    API names the kind there); else it stays "API key".
    """
    capabilities = mapping(new).get("capabilities")
    if isinstance(capabilities, list) and _NODE_AUTH_CAPABILITIES.intersection(
        item for item in capabilities if isinstance(item, str)
    ):
        return "auth key"
    name = (text(target.get("name")) or "").strip().lower()
    return _KEY_KINDS.get(name, "API key")


def _fields(event: Mapping[str, Any], ev_type: str) -> dict[str, str]:
    target = mapping(event.get("target"))
    name, tid = text(target.get("name")), text(target.get("id"))
    ttype, prop = key(text(target.get("type"))), key(text(target.get("property")))
    return {
        "kind": key_kind(target, event.get("new")),
        "t": name or tid or "(unknown)",
        "tid": tid or name or "(unknown)",
        "prop": (prop or "").lower().replace("_", " "),
        "event": ev_type,
        "ttype": (ttype or "unknown target").lower().replace("_", " "),
    }


def summary_sentence(
    event: Mapping[str, Any], normalized_action: str, ev_type: str | None = None
) -> str:
    """One sentence for the `admin_audit` record of `event` (a configuration_audit record)."""
    if ev_type is None:
        ev_type = event_type(event)
    actor = mapping(event.get("actor"))
    target = mapping(event.get("target"))
    ttype = key(text(target.get("type")))
    prop = key(text(target.get("property")))
    error = text(event.get("error"))
    fields = _fields(event, ev_type)
    template = template_for(ev_type, ttype, key(text(event.get("action"))), prop, normalized_action)
    if (
        template is FALLBACK_TEMPLATE
        and text(target.get("name")) is None
        and text(target.get("id")) is None
    ):
        template = _BARE_FALLBACK
    body = fill(template, fields).rstrip()
    if template is not OWNERSHIP_TEMPLATE:
        body += _change_suffix(prop, event.get("old"), event.get("new"))
    failed = is_failure(ttype, error)
    passive = PASSIVE_TEMPLATES.get(ev_type)
    if passive is not None and not failed and key(text(actor.get("type"))) != "USER":
        sentence = fill(passive, fields)
        sentence = sentence[:1].upper() + sentence[1:]
    else:
        # A login name is quoted as is; only our own wording gets a capital.
        who = _actor_name(actor) or "An automated process"
        sentence = f"{who} failed to {body}" if failed else f"{who} {to_past(body)}"
    if error is not None:
        sentence += f": {error}"
    return sentence
