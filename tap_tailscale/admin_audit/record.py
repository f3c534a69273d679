"""Build one `admin_audit` record from one `configuration_audit` record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tap_tailscale.admin_audit.actions import KNOWN_EVENTS, event_type, normalize_action
from tap_tailscale.admin_audit.cursor import make_cursor
from tap_tailscale.admin_audit.fields import key, mapping, text
from tap_tailscale.admin_audit.findings import findings
from tap_tailscale.admin_audit.policy import (
    NOT_ANALYSED,
    PolicyAnalysis,
    ReachSource,
    analyse_policy,
)
from tap_tailscale.admin_audit.policy_diff import policy_diff
from tap_tailscale.admin_audit.rules import Facts
from tap_tailscale.admin_audit.severity import SeverityPolicy, highest
from tap_tailscale.admin_audit.summary import is_failure, summary_sentence
from tap_tailscale.fields import json_text
from tap_tailscale.timeutil import normalize_timestamp

if TYPE_CHECKING:
    from collections.abc import Mapping


def _mentions_saml(*values: Any) -> bool:
    for value in values:
        if value is None:
            continue
        found = value if isinstance(value, str) else json.dumps(value, default=str)
        if "saml" in found.lower():
            return True
    return False


def _refine(action: str, prop: str | None, old: Any, new: Any) -> str:
    """Value-dependent refinements that (type, action, property) alone cannot make."""
    if action == "oidc:update" and _mentions_saml(old, new):
        return "saml:update"
    if (
        action == "user:role_update"
        and prop == "USER_ROLE"
        and isinstance(new, str)
        and new.strip().lower() == "owner"
    ):
        return "tailnet:transfer_ownership"
    return action


def changed_values(event: Mapping[str, Any]) -> dict[str, Any]:
    """The changed value as the API sent it, for rules and policy analysis.

    Records carry it as JSON text (fields.json_text), like configuration_audit.
    """
    return {"old": event.get("old"), "new": event.get("new")}


def _event_time(event: Mapping[str, Any]) -> str | None:
    raw = text(event.get("eventTime"))
    try:
        return normalize_timestamp(raw) if raw is not None else None
    except ValueError:
        return None


def _actor(actor: Mapping[str, Any]) -> dict[str, Any]:
    tags = actor.get("tags")
    return {
        "id": text(actor.get("id")),
        "type": text(actor.get("type")),
        "login_name": text(actor.get("loginName")),
        "display_name": text(actor.get("displayName")),
        "tags": [str(tag) for tag in tags] if isinstance(tags, list) else None,
    }


def _facts(
    event: Mapping[str, Any], ev_type: str, *, failed: bool, analysis: PolicyAnalysis
) -> Facts:
    return Facts(
        event_type=ev_type,
        known=ev_type in KNOWN_EVENTS,
        actor_type=key(text(mapping(event.get("actor")).get("type"))),
        origin=key(text(event.get("origin"))),
        failed=failed,
        old=event.get("old"),
        new=event.get("new"),
        details=text(event.get("actionDetails")),
        policy_risks=analysis.risks,
        policy_error=analysis.error,
    )


def admin_audit_record(
    event: Mapping[str, Any],
    *,
    policy: SeverityPolicy,
    values: Mapping[str, Any] | None = None,
    reach: ReachSource | None = None,
) -> dict[str, Any]:
    """The `admin_audit` record for one `configuration_audit` record.

    `values` is the API entry to read `old`/`new` from when the `configuration_audit`
    record holds them in another form (e.g. JSON text): rules and policy analysis need
    the values as sent. Missing or malformed fields become None; an unknown event still
    produces a record through the fallback action, and a finding that says it is unknown.
    `reach` gives this sync's devices and users snapshot for a policy change's counts.
    """
    if values is not None:
        event = {**event, **changed_values(values)}
    actor = mapping(event.get("actor"))
    target = mapping(event.get("target"))
    ttype, prop = text(target.get("type")), text(target.get("property"))
    old, new = event.get("old"), event.get("new")
    error = text(event.get("error"))
    ev_type = event_type(event)
    action = _refine(normalize_action(ttype, event.get("action"), prop), key(prop), old, new)
    event_id, event_time = text(event.get("event_id")), _event_time(event)
    failed = is_failure(key(ttype), error)
    analysis = analyse_policy(old, new, reach) if key(prop) == "ACL" else NOT_ANALYSED
    facts = _facts(event, ev_type, failed=failed, analysis=analysis)
    hits = findings(facts, policy)
    base = policy.severity(action, ev_type)
    return {
        "cursor": make_cursor(event_time, event_id) if event_time and event_id else None,
        "event_id": event_id,
        "tailnet": text(event.get("tailnet")),
        "event_time": event_time,
        "event_group_id": text(event.get("eventGroupID")),
        "source": "tailscale",
        "category": "network",
        "event_type": ev_type,
        "action": action,
        "severity": highest([base, *(hit["severity"] for hit in hits)]),
        "findings": hits,
        "actor": _actor(actor),
        "target": {
            "id": text(target.get("id")),
            "name": text(target.get("name")),
            "type": ttype,
            "property": prop,
        },
        "origin": text(event.get("origin")),
        "outcome": "failure" if failed else "success",
        "error": error,
        "action_details": facts.details,
        "summary": summary_sentence(event, action, ev_type),
        "old": json_text(old),
        "new": json_text(new),
        "policy_diff": policy_diff(old, new) if key(prop) == "ACL" else None,
        "policy_changes": analysis.changes,
    }
