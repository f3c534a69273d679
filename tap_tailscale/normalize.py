"""Normalization of configuration audit events into `admin_audit` records.

Tailscale describes a change as (target.type, action, target.property), e.g.
`NODE.UPDATE.ACL_TAGS`. Security teams search for a small `resource:verb`
vocabulary (`tag:update`) with a severity. This module owns that mapping, the
severity policy, the one-line summaries and the ACL policy diff. It is pure:
no I/O outside `main`, no SDK imports, so the tap and the docs generator share it.

The mapping table below is the single source of `docs/admin-audit-actions.md`;
regenerate it with `python -m tap_tailscale.normalize --write docs/admin-audit-actions.md`.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

SEVERITIES = ("high", "medium", "info")

# (event value, normalized action, summary template) for every value of the
# `event` filter enum in the API spec, in spec order. Templates start with a
# base-form verb so one template yields both "x updated ..." and "x failed to
# update ...". Placeholders: {t} target name (else id), {tid} target id (else name).
_EVENT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("ADMIN_CONSOLE.LOGIN", "session:login", "log in to the admin console"),
    ("ADMIN_CONSOLE.LOGOUT", "session:logout", "log out of the admin console"),
    ("API_KEY.CREATE", "auth_key:create", "create API key {tid}"),
    ("API_KEY.EXPIRED", "auth_key:expire", "expire API key {tid}"),
    ("API_KEY.REVOKE", "auth_key:delete", "revoke API key {tid}"),
    ("BILLING.CANCEL.SUBSCRIPTION", "billing:cancel_subscription", "cancel the subscription"),
    ("BILLING.CREATE.SUBSCRIPTION", "billing:create_subscription", "create a subscription"),
    ("BILLING.UPDATE.ADDRESS", "billing:update", "update the billing address"),
    ("BILLING.UPDATE.BILLING_OWNER", "billing:update_owner", "change the billing owner"),
    ("BILLING.UPDATE.EMAIL", "billing:update", "update the billing email"),
    ("BILLING.UPDATE.PAYMENT_INFO", "billing:update", "update the payment information"),
    ("BILLING.UPDATE.STRIPE_CUSTOMER_ID", "billing:update", "update the Stripe customer ID"),
    ("BILLING.UPDATE.SUBSCRIPTION", "billing:update_subscription", "update the subscription"),
    ("FAILED_REQUEST.UPDATE", "request:fail", "make a configuration change"),
    ("GROUP.PUSH_GROUP.ATTRIBUTES", "group:sync", "sync group {t} from the identity provider"),
    ("INVITE.ACCEPT.FEATURE", "feature:accept", "accept feature invite {t}"),
    ("INVITE.ACCEPT.NODE_SHARE", "share:accept", "accept device share invite {t}"),
    ("INVITE.ACCEPT.TAILNET_INVITE", "invite:accept", "accept tailnet invite {t}"),
    ("INVITE.CREATE.FEATURE", "feature:invite", "create feature invite {t}"),
    ("INVITE.CREATE.NODE_SHARE", "share:invite", "create device share invite {t}"),
    ("INVITE.CREATE.TAILNET_INVITE", "user:invite", "create tailnet invite {t}"),
    ("INVITE.DELETE.NODE_SHARE", "share:delete", "delete device share invite {t}"),
    ("INVITE.DELETE.TAILNET_INVITE", "invite:delete", "delete tailnet invite {t}"),
    ("INVITE.RESEND.NODE_SHARE", "share:resend", "resend device share invite {t}"),
    ("INVITE.RESEND.TAILNET_INVITE", "invite:resend", "resend tailnet invite {t}"),
    ("NODE.APPROVE", "device:approve", "approve device {t}"),
    ("NODE.CREATE", "device:create", "add device {t}"),
    ("NODE.CREATE.ATTRIBUTES", "device:update", "set posture attributes on device {t}"),
    ("NODE.DELETE", "device:delete", "delete device {t}"),
    ("NODE.DELETE.ATTRIBUTES", "device:update", "remove posture attributes from device {t}"),
    ("NODE.DISABLE.KEY_EXPIRY", "device:update", "disable key expiry for device {t}"),
    (
        "NODE.DISCONNECT_NODE.CLIENT_LOG",
        "device:disconnect",
        "disconnect device {t} (client logging)",
    ),
    ("NODE.ENABLE.KEY_EXPIRY", "device:update", "enable key expiry for device {t}"),
    ("NODE.EXPIRED.KEY_EXPIRY_TIME", "node_key:expire", "expire the node key of device {t}"),
    ("NODE.LOGIN", "device:login", "log in device {t}"),
    ("NODE.LOGOUT", "device:logout", "log out device {t}"),
    ("NODE.REVOKE", "device:revoke", "revoke access for device {t}"),
    ("NODE.UPDATE.ACL_TAGS", "tag:update", "update the tags of device {t}"),
    ("NODE.UPDATE.ALLOWED_IPS", "routes:approve", "update the approved routes of device {t}"),
    ("NODE.UPDATE.ATTRIBUTES", "device:update", "update posture attributes on device {t}"),
    (
        "NODE.UPDATE.AUTO_APPROVED_ROUTES",
        "routes:set_advertised",
        "update the auto-approved routes of device {t}",
    ),
    ("NODE.UPDATE.EXIT_NODE", "routes:approve", "update the exit node approval of device {t}"),
    ("NODE.UPDATE.KEY_EXPIRY_TIME", "device:expire_key", "change the key expiry of device {t}"),
    ("NODE.UPDATE.MACHINE_NAME", "device:update", "rename device {t}"),
    ("NODE.UPDATE.POSTURE_IDENTITY", "device:update", "update the posture identity of device {t}"),
    ("NODE.UPDATE.TKA", "device:update", "update the tailnet lock signature of device {t}"),
    ("SHARE.CREATE", "share:create", "create device share {t}"),
    ("SHARE.DELETE", "share:delete", "delete device share {t}"),
    ("SHARE.UPDATE", "share:update", "update device share {t}"),
    ("TAILNET.ACCEPT.FEATURE", "feature:accept", "accept a feature for tailnet {t}"),
    ("TAILNET.CREATE", "tailnet:create", "create tailnet {t}"),
    ("TAILNET.CREATE.LOGSTREAM_ENDPOINT", "logging:set_config", "add a log streaming endpoint"),
    ("TAILNET.CREATE.POSTURE_INTEGRATION", "posture:create", "add a device posture integration"),
    ("TAILNET.CREATE.TKA", "settings:update", "initialize tailnet lock"),
    ("TAILNET.DELETE.LOGSTREAM_ENDPOINT", "logging:set_config", "delete a log streaming endpoint"),
    (
        "TAILNET.DELETE.POSTURE_INTEGRATION",
        "posture:delete",
        "delete a device posture integration",
    ),
    ("TAILNET.DELETE.TKA", "settings:update", "remove tailnet lock"),
    (
        "TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY",
        "settings:update",
        "disable device identity collection",
    ),
    ("TAILNET.DISABLE.COLLECT_SERVICES", "settings:update", "disable services collection"),
    ("TAILNET.DISABLE.FILE_SHARING", "settings:update", "disable Taildrop file sharing"),
    ("TAILNET.DISABLE.GEOSTEERING", "settings:update", "disable geosteering"),
    ("TAILNET.DISABLE.HTTPS", "settings:update", "disable HTTPS certificates"),
    ("TAILNET.DISABLE.LOG_EXIT_FLOWS", "logging:set_config", "disable logging of exit node flows"),
    ("TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED", "settings:update", "disable device approval"),
    ("TAILNET.DISABLE.MAGIC_DNS", "settings:update", "disable MagicDNS"),
    ("TAILNET.DISABLE.MULLVAD_VPN", "settings:update", "disable Mullvad exit nodes"),
    (
        "TAILNET.DISABLE.NETWORK_FLOW_LOGGING",
        "logging:set_config",
        "disable network flow logging",
    ),
    ("TAILNET.DISABLE.SCIM", "settings:update", "disable SCIM provisioning"),
    ("TAILNET.DISABLE.TKA", "settings:update", "disable tailnet lock"),
    ("TAILNET.DISABLE.USER_APPROVAL_REQUIRED", "settings:update", "disable user approval"),
    (
        "TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY",
        "settings:update",
        "enable device identity collection",
    ),
    ("TAILNET.ENABLE.COLLECT_SERVICES", "settings:update", "enable services collection"),
    ("TAILNET.ENABLE.FILE_SHARING", "settings:update", "enable Taildrop file sharing"),
    ("TAILNET.ENABLE.GEOSTEERING", "settings:update", "enable geosteering"),
    ("TAILNET.ENABLE.HTTPS", "settings:update", "enable HTTPS certificates"),
    ("TAILNET.ENABLE.LOG_EXIT_FLOWS", "logging:set_config", "enable logging of exit node flows"),
    ("TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED", "settings:update", "enable device approval"),
    ("TAILNET.ENABLE.MAGIC_DNS", "settings:update", "enable MagicDNS"),
    ("TAILNET.ENABLE.MULLVAD_VPN", "settings:update", "enable Mullvad exit nodes"),
    ("TAILNET.ENABLE.NETWORK_FLOW_LOGGING", "logging:set_config", "enable network flow logging"),
    ("TAILNET.ENABLE.SCIM", "settings:update", "enable SCIM provisioning"),
    ("TAILNET.ENABLE.TKA", "settings:update", "enable tailnet lock"),
    ("TAILNET.ENABLE.USER_APPROVAL_REQUIRED", "settings:update", "enable user approval"),
    ("TAILNET.JOIN", "tailnet:join", "join tailnet {t}"),
    ("TAILNET.JOIN_WAITLIST.FEATURE", "feature:join_waitlist", "join the waitlist for a feature"),
    ("TAILNET.LEAVE", "tailnet:leave", "leave tailnet {t}"),
    ("TAILNET.UPDATE.ACCOUNT_EMAIL", "settings:update", "change the tailnet account email"),
    ("TAILNET.UPDATE.ACL", "acl:update", "update the tailnet ACL policy"),
    ("TAILNET.UPDATE.DNS_CONFIG", "settings:update", "update the tailnet DNS configuration"),
    ("TAILNET.UPDATE.LOGSTREAM_ENDPOINT", "logging:set_config", "update a log streaming endpoint"),
    ("TAILNET.UPDATE.MAX_KEY_DURATION", "settings:update", "change the maximum node key duration"),
    (
        "TAILNET.UPDATE.POSTURE_INTEGRATION",
        "posture:update",
        "update a device posture integration",
    ),
    ("TAILNET.UPDATE.SECURITY_EMAIL", "settings:update", "change the tailnet security contact"),
    ("TAILNET.UPDATE.SUPPORT_EMAIL", "settings:update", "change the tailnet support contact"),
    ("TAILNET.UPDATE.TCD", "settings:update", "change the tailnet DNS name"),
    ("TAILNET.UPDATE.TKA", "settings:update", "update tailnet lock"),
    ("TAILNET.VERIFY.ACCOUNT_EMAIL", "contact:verify", "verify the tailnet account email"),
    ("TAILNET.VERIFY.SECURITY_EMAIL", "contact:verify", "verify the tailnet security contact"),
    ("TAILNET.VERIFY.SUPPORT_EMAIL", "contact:verify", "verify the tailnet support contact"),
    ("USER.APPROVE", "user:approve", "approve user {t}"),
    ("USER.CREATE", "user:create", "add user {t}"),
    ("USER.DELETE", "user:delete", "delete user {t}"),
    ("USER.INVITE", "user:invite", "invite user {t}"),
    ("USER.PUSH_USER.ATTRIBUTES", "user:sync", "sync user {t} from the identity provider"),
    ("USER.RESEND.TAILNET_INVITE", "invite:resend", "resend the tailnet invite to user {t}"),
    ("USER.RESTORE", "user:restore", "restore user {t}"),
    ("USER.RESTORE_GLOBAL", "user:restore", "restore user {t} across all of Tailscale"),
    ("USER.SUSPEND", "user:suspend", "suspend user {t}"),
    ("USER.SUSPEND_GLOBAL", "user:suspend", "suspend user {t} across all of Tailscale"),
    ("USER.UPDATE.USER_ROLE", "user:role_update", "change the role of user {t}"),
    ("WEBHOOK_ENDPOINT.CREATE", "webhook:create", "create webhook {t}"),
    ("WEBHOOK_ENDPOINT.DELETE", "webhook:delete", "delete webhook {t}"),
    ("WEBHOOK_ENDPOINT.UPDATE.SECRET", "webhook:update", "rotate the secret of webhook {t}"),
    (
        "WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS",
        "webhook:update",
        "change the events webhook {t} subscribes to",
    ),
    ("WEB_INTERFACE.LOGIN", "session:login", "log in to the web interface of {t}"),
    ("WEB_INTERFACE.LOGOUT", "session:logout", "log out of the web interface of {t}"),
)

EVENT_TYPES: tuple[str, ...] = tuple(row[0] for row in _EVENT_ROWS)
"""The event values of the API spec's `event` filter enum, in spec order."""

# Values the spec's field enums allow but its event filter does not list. They
# are mapped on purpose rather than left to the fallback, because the fallback
# would rate them lower than what they mean.
_EXTRA_ROWS: tuple[tuple[str, str, str], ...] = (
    ("TAILNET.DELETE.ACL", "acl:delete", "delete the tailnet ACL policy"),
)

# Property-wide rules: (target type, action) -> action for any property not in the
# tables above, so a new tailnet toggle still lands on settings:update.
_FAMILY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("TAILNET.ENABLE.*", "settings:update", "enable the tailnet setting {prop}"),
    ("TAILNET.DISABLE.*", "settings:update", "disable the tailnet setting {prop}"),
    ("NODE.UPDATE.*", "device:update", "update {prop} of device {t}"),
    ("USER.UPDATE.*", "user:update", "update {prop} of user {t}"),
    ("WEBHOOK_ENDPOINT.UPDATE.*", "webhook:update", "update {prop} of webhook {t}"),
    ("BILLING.UPDATE.*", "billing:update", "update billing {prop}"),
)

# The event does not say which protocol the identity provider speaks; OIDC is the
# common case, and `admin_audit_record` switches to saml:update when old/new say SAML.
_AUTH_PROVIDER_PROPERTY = "AUTH_PROVIDER"
_AUTH_PROVIDER_ACTION = "MIGRATE_AUTH_PROVIDER"
_AUTH_PROVIDER_TEMPLATE = "change the tailnet's identity provider"
_OWNERSHIP_TEMPLATE = "transfer ownership of the tailnet to {t}"
_FALLBACK_TEMPLATE = "perform {event} on {ttype} {t}"

# Events the control plane or the device itself usually causes: "alice expired
# the key" would be false, so when no user acted they read as a passive sentence.
_PASSIVE_TEMPLATES: dict[str, str] = {
    "API_KEY.EXPIRED": "API key {tid} expired",
    "NODE.EXPIRED.KEY_EXPIRY_TIME": "the node key of device {t} expired",
}

# Only properties whose values are short, non-secret and telling go into summaries.
# WEBHOOK_ENDPOINT.UPDATE.SECRET in particular must never be quoted.
_VALUE_PROPERTIES = frozenset(
    {"USER_ROLE", "MACHINE_NAME", "ACL_TAGS", "KEY_EXPIRY_TIME", "MAX_KEY_DURATION"}
)
_MAX_VALUE_CHARS = 80

_HIGH_ACTIONS = frozenset(
    {
        "acl:update",
        "acl:delete",
        "device:approve",
        "device:delete",
        "device:expire_key",
        "routes:approve",
        "routes:set_advertised",
        "auth_key:create",
        "auth_key:delete",
        "user:invite",
        "user:delete",
        "user:role_update",
        "oidc:update",
        "saml:update",
        "tailnet:transfer_ownership",
        "tailnet:delete",
        "webhook:create",
        "webhook:update",
        "webhook:delete",
        "settings:update",
        "logging:set_config",
    }
)
_MEDIUM_ACTIONS = frozenset(
    {"device:update", "tag:update", "posture:create", "posture:update", "posture:delete"}
)
_MEDIUM_VERBS = ("delete", "remove")

# Why the less obvious rows are what they are; rendered into the docs so the
# reasoning ships next to the table it explains.
_DECISIONS: tuple[str, ...] = (
    "`NODE.UPDATE.KEY_EXPIRY_TIME` is `device:expire_key` (high): someone changed when a "
    "device key expires, for example an admin expiring it early to force re-authentication "
    "(if routine re-authentication shows up this way in your tailnet, lower it with an "
    "override). `NODE.EXPIRED.KEY_EXPIRY_TIME` is the control plane "
    "noticing that a key ran out, which is routine, so it is `node_key:expire` (info), "
    "the same shape as `API_KEY.EXPIRED` -> `auth_key:expire`.",
    "`NODE.DISABLE.KEY_EXPIRY` (a weakening: the device never has to re-authenticate) and "
    "`NODE.ENABLE.KEY_EXPIRY` are `device:update` (medium) rather than `device:expire_key`, "
    "because nothing is expired; the summary says which way the setting went.",
    "`API_KEY.REVOKE` is `auth_key:delete`: a revoked key is gone for good. `API_KEY` covers "
    "API access tokens, auth keys and OAuth clients alike.",
    "Routes: `NODE.UPDATE.ALLOWED_IPS` (subnet routes an admin enabled) and "
    "`NODE.UPDATE.EXIT_NODE` are `routes:approve`; `NODE.UPDATE.AUTO_APPROVED_ROUTES` "
    "(routes the device advertised and the autoApprovers policy accepted without a human) "
    "is `routes:set_advertised`. All are high.",
    "`INVITE.CREATE.TAILNET_INVITE` is `user:invite` (high), like `USER.INVITE`: creating "
    "an invite is what lets a new identity into the tailnet. Accepting, resending and "
    "deleting invites use the `invite:` resource; device-share invites use `share:`.",
    "`USER.UPDATE.USER_ROLE` whose new value is `owner` becomes "
    "`tailnet:transfer_ownership` (there is only one owner, so granting the role moves it).",
    "Auth provider changes (property `AUTH_PROVIDER` or action `MIGRATE_AUTH_PROVIDER`) are "
    "`oidc:update`, or `saml:update` when `old` or `new` mentions SAML; the event does not "
    "say which protocol is in use.",
    "Tailnet-wide toggles and values (`TAILNET.ENABLE/DISABLE.*`, DNS configuration, "
    "tailnet DNS name, maximum key duration, contact emails, tailnet lock) are "
    "`settings:update`; the summary keeps the verb. Contact emails are included because "
    "redirecting the security contact is how an intruder silences notifications.",
    "Log streaming endpoints, network flow logging and exit-flow logging are "
    "`logging:set_config`, including deletion: turning logging off is defence evasion.",
    "Device posture attributes (`NODE.*.ATTRIBUTES`), posture identity and tailnet lock "
    "signatures are `device:update` (medium): they decide what the device may reach.",
    "`FAILED_REQUEST.*` events have outcome `failure` even without an `error` field.",
)


def _past_tense(verb: str) -> str:
    irregular = {
        "log": "logged",
        "set": "set",
        "resend": "resent",
        "leave": "left",
        "make": "made",
        "transfer": "transferred",
    }
    if verb in irregular:
        return irregular[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ied"
    return verb + "ed"


def _to_past(template: str) -> str:
    verb, _, rest = template.partition(" ")
    return f"{_past_tense(verb)} {rest}" if rest else _past_tense(verb)


def _split_event(value: str) -> tuple[str, str, str | None]:
    parts = value.split(".", 2)
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


_EXACT: dict[tuple[str, str, str | None], str] = {
    _split_event(ev): action for ev, action, _ in _EVENT_ROWS + _EXTRA_ROWS
}
_TEMPLATES: dict[str, str] = {ev: tpl for ev, _, tpl in _EVENT_ROWS + _EXTRA_ROWS}
_FAMILY: dict[tuple[str, str], tuple[str, str]] = {
    _split_event(pattern)[:2]: (action, tpl) for pattern, action, tpl in _FAMILY_ROWS
}


def _text(value: Any) -> str | None:
    """A string field as text, with absent and empty both meaning None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text or None


def _key(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip().upper()
    return cleaned or None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def event_type(event: Mapping[str, Any]) -> str:
    """`TARGET.ACTION[.PROPERTY]` for a configuration event; UNKNOWN for missing parts."""
    target = _mapping(event.get("target"))
    ttype = _key(_text(target.get("type"))) or "UNKNOWN"
    action = _key(_text(event.get("action"))) or "UNKNOWN"
    prop = _key(_text(target.get("property")))
    return f"{ttype}.{action}.{prop}" if prop else f"{ttype}.{action}"


@lru_cache(maxsize=1024)
def _normalize(ttype: str | None, action: str | None, prop: str | None) -> str:
    exact = _EXACT.get((ttype or "", action or "", prop))
    if exact is not None:
        return exact
    if prop == _AUTH_PROVIDER_PROPERTY or action == _AUTH_PROVIDER_ACTION:
        return "oidc:update"
    if prop is not None:
        family = _FAMILY.get((ttype or "", action or ""))
        if family is not None:
            return family[0]
    return f"{(ttype or 'unknown').lower()}:{(action or 'unknown').lower()}"


def normalize_action(target_type: str | None, action: str | None, prop: str | None) -> str:
    """Map Tailscale's (target.type, action, target.property) to a `resource:verb` action.

    Unknown combinations fall back to `<target type>:<action>` in lower case; this
    never raises, whatever the inputs.
    """
    return _normalize(_key(_text(target_type)), _key(_text(action)), _key(_text(prop)))


def default_severity(normalized_action: str) -> str:
    """Severity from the product table, before any `severity_overrides`."""
    action = normalized_action.strip().lower()
    if action in _HIGH_ACTIONS:
        return "high"
    if action in _MEDIUM_ACTIONS:
        return "medium"
    resource, colon, verb = action.rpartition(":")
    if colon and resource and verb in _MEDIUM_VERBS:
        return "medium"
    return "info"


_GLOB_CHARS = frozenset("*?[")
_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class SeverityPolicy:
    """Default severities with the user's `severity_overrides` applied.

    An exact action beats any glob; among matching globs the longest pattern wins,
    and on equal length the higher severity, so a tie never hides a high.
    """

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, Mapping):
            msg = (
                "severity_overrides must be a mapping of action or glob to severity, "
                f"got {type(overrides).__name__}"
            )
            raise ValueError(msg)
        exact: dict[str, str] = {}
        globs: list[tuple[str, str]] = []
        for raw_key, raw_value in overrides.items():
            key = raw_key.strip().lower() if isinstance(raw_key, str) else ""
            value = raw_value.strip().lower() if isinstance(raw_value, str) else None
            if not key:
                msg = (
                    f"severity_overrides: {raw_key!r} -> {raw_value!r} has an empty or "
                    "non-text action; use a normalized action such as 'device:delete' "
                    "or a glob such as 'device:*'"
                )
                raise ValueError(msg)
            if value not in _SEVERITY_RANK:
                msg = (
                    f"severity_overrides: {raw_key!r} -> {raw_value!r} is not a valid "
                    f"severity; use one of {', '.join(SEVERITIES)}"
                )
                raise ValueError(msg)
            if _GLOB_CHARS.intersection(key):
                globs.append((key, value))
            else:
                exact[key] = value
        globs.sort(key=lambda item: (-len(item[0]), _SEVERITY_RANK[item[1]], item[0]))
        self._exact = exact
        self._globs = tuple(globs)
        self._cache: dict[str, str] = {}

    def severity(self, normalized_action: str) -> str:
        """The severity for one normalized action."""
        cached = self._cache.get(normalized_action)
        if cached is not None:
            return cached
        action = normalized_action.strip().lower()
        result = self._exact.get(action)
        if result is None:
            result = next(
                (sev for pattern, sev in self._globs if fnmatch.fnmatchcase(action, pattern)),
                None,
            )
        if result is None:
            result = default_severity(action)
        # Actions come from a small vocabulary; the bound only guards odd inputs.
        if len(self._cache) < 4096:
            self._cache[normalized_action] = result
        return result

    def __repr__(self) -> str:
        overrides = {**self._exact, **dict(self._globs)}
        return f"SeverityPolicy({overrides!r})"


_FIXED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def _utc_time(value: str) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, so times compare correctly as strings."""
    if _FIXED_TIME.match(value):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        msg = f"not an RFC 3339 timestamp: {value!r}"
        raise ValueError(msg) from exc
    return parsed.isoformat(timespec="microseconds") + "Z"


def make_cursor(event_time: str, event_id: str) -> str:
    """Replication key: fixed-width UTC time, `|`, event id; sorts in event order."""
    return f"{_utc_time(event_time)}|{event_id}"


# Order matters: a string is matched as a whole before anything inside it can look
# like a comment, and a comment before a comma inside it can look trailing.
_HUJSON_TOKEN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"'
    r"|//[^\n]*"
    r"|/\*[\s\S]*?\*/"
    r"|,(?=(?:\s|//[^\n]*|/\*[\s\S]*?\*/)*[\]}])"
)


def _hujson_replace(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.startswith('"'):
        return token
    # A space, not nothing, so a comment can never glue two tokens together.
    return " " if token.startswith("/") else ""


def _parse_policy(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return json.loads(_HUJSON_TOKEN.sub(_hujson_replace, value))


def _raw_lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()


def policy_diff(old: Any, new: Any) -> str | None:
    """Unified diff of two policy documents (JSON or HuJSON), or None if one is missing.

    Both sides are parsed and pretty-printed the same way (indent 2, each document's
    own key order) so re-indentation does not drown the real change. Comments do
    not survive parsing, which is fine: `old` and `new` keep the original text.
    If either side does not parse, the raw text lines are diffed instead.
    Identical documents give "".
    """
    if old is None or new is None:
        return None
    try:
        old_lines = json.dumps(_parse_policy(old), indent=2, ensure_ascii=False).splitlines()
        new_lines = json.dumps(_parse_policy(new), indent=2, ensure_ascii=False).splitlines()
    except (ValueError, TypeError, RecursionError):
        old_lines, new_lines = _raw_lines(old), _raw_lines(new)
    diff = list(
        difflib.unified_diff(old_lines, new_lines, fromfile="old", tofile="new", lineterm="")
    )
    return "\n".join(diff) + "\n" if diff else ""


def _actor_name(actor: Mapping[str, Any]) -> str | None:
    return (
        _text(actor.get("loginName")) or _text(actor.get("displayName")) or _text(actor.get("id"))
    )


def _format_value(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, list):
        text = "[" + ", ".join(str(item) for item in value) + "]"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text if 0 < len(text) <= _MAX_VALUE_CHARS else None


def _change_suffix(prop: str | None, old: Any, new: Any) -> str:
    if prop not in _VALUE_PROPERTIES:
        return ""
    old_text, new_text = _format_value(old), _format_value(new)
    if old_text is not None and new_text is not None:
        return f" from {old_text} to {new_text}"
    if new_text is not None:
        return f" to {new_text}"
    return ""


def _template_for(
    ev_type: str, ttype: str | None, action: str | None, prop: str | None, normalized_action: str
) -> str:
    if normalized_action == "tailnet:transfer_ownership":
        return _OWNERSHIP_TEMPLATE
    template = _TEMPLATES.get(ev_type)
    if template is not None:
        return template
    if prop == _AUTH_PROVIDER_PROPERTY or action == _AUTH_PROVIDER_ACTION:
        return _AUTH_PROVIDER_TEMPLATE
    if prop is not None:
        family = _FAMILY.get((ttype or "", action or ""))
        if family is not None:
            return family[1]
    return _FALLBACK_TEMPLATE


def _is_failure(ttype: str | None, error: str | None) -> bool:
    return error is not None or ttype == "FAILED_REQUEST"


def summary_sentence(event: Mapping[str, Any], normalized_action: str) -> str:
    """One human sentence: who did what to which target, and the error if it failed."""
    actor = _mapping(event.get("actor"))
    target = _mapping(event.get("target"))
    ttype = _key(_text(target.get("type")))
    action = _key(_text(event.get("action")))
    prop = _key(_text(target.get("property")))
    ev_type = event_type(event)
    error = _text(event.get("error"))
    name = _text(target.get("name"))
    tid = _text(target.get("id"))
    fields = {
        "t": name or tid or "(unknown)",
        "tid": tid or name or "(unknown)",
        "prop": (prop or "").lower().replace("_", " "),
        "event": ev_type,
        "ttype": (ttype or "unknown target").lower().replace("_", " "),
    }
    template = _template_for(ev_type, ttype, action, prop, normalized_action)
    if template is _FALLBACK_TEMPLATE and name is None and tid is None:
        template = "perform {event}"
    body = template.format_map(fields).rstrip()
    if template is not _OWNERSHIP_TEMPLATE:
        body += _change_suffix(prop, event.get("old"), event.get("new"))
    failed = _is_failure(ttype, error)
    passive = _PASSIVE_TEMPLATES.get(ev_type)
    if passive is not None and not failed and _key(_text(actor.get("type"))) != "USER":
        sentence = passive.format_map(fields)
        sentence = sentence[:1].upper() + sentence[1:]
    else:
        # A login name is quoted as is; only our own wording gets a capital.
        who = _actor_name(actor) or "An automated process"
        sentence = f"{who} failed to {body}" if failed else f"{who} {_to_past(body)}"
    if error is not None:
        sentence += f": {error}"
    return sentence


def _mentions_saml(*values: Any) -> bool:
    for value in values:
        if value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if "saml" in text.lower():
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


def admin_audit_record(event: Mapping[str, Any], *, policy: SeverityPolicy) -> dict[str, Any]:
    """The `admin_audit` record for one `configuration_audit` record.

    Missing or malformed fields become None; an unknown event still produces a
    record through the fallback action.
    """
    actor = _mapping(event.get("actor"))
    target = _mapping(event.get("target"))
    ttype = _text(target.get("type"))
    raw_action = _text(event.get("action"))
    prop = _text(target.get("property"))
    prop_key = _key(prop)
    old = event.get("old")
    new = event.get("new")
    error = _text(event.get("error"))
    action = _refine(normalize_action(ttype, raw_action, prop), prop_key, old, new)

    event_id = _text(event.get("event_id"))
    raw_time = _text(event.get("eventTime"))
    try:
        event_time = _utc_time(raw_time) if raw_time is not None else None
    except ValueError:
        event_time = None
    cursor = make_cursor(event_time, event_id) if event_time and event_id else None

    tags = actor.get("tags")
    return {
        "cursor": cursor,
        "event_id": event_id,
        "tailnet": _text(event.get("tailnet")),
        "event_time": event_time,
        "source": "tailscale",
        "category": "network",
        "event_type": event_type(event),
        "action": action,
        "severity": policy.severity(action),
        "actor": {
            "id": _text(actor.get("id")),
            "type": _text(actor.get("type")),
            "login_name": _text(actor.get("loginName")),
            "display_name": _text(actor.get("displayName")),
            "tags": [str(tag) for tag in tags] if isinstance(tags, list) else None,
        },
        "target": {
            "id": _text(target.get("id")),
            "name": _text(target.get("name")),
            "type": ttype,
            "property": prop,
        },
        "origin": _text(event.get("origin")),
        "outcome": "failure" if _is_failure(_key(ttype), error) else "success",
        "error": error,
        "summary": summary_sentence(event, action),
        "old": old,
        "new": new,
        "policy_diff": policy_diff(old, new) if prop_key == "ACL" else None,
    }


def _doc_summary(template: str, passive: str | None) -> str:
    fields = {
        "t": "*target*",
        "tid": "*target*",
        "prop": "*property*",
        "event": "*event*",
        "ttype": "*target type*",
    }
    if passive is not None:
        text = passive.format_map(fields)
        return (
            text[:1].upper()
            + text[1:]
            + " (*actor* "
            + _to_past(template.format_map(fields))
            + " when a user did it)"
        )
    return "*actor* " + _to_past(template.format_map(fields))


def actions_markdown() -> str:
    """The generated `docs/admin-audit-actions.md`."""
    lines = [
        "# `admin_audit` actions and severities",
        "",
        "<!-- Generated from tap_tailscale/normalize.py; do not edit. Regenerate with",
        "     python -m tap_tailscale.normalize --write docs/admin-audit-actions.md -->",
        "",
        "Each `configuration_audit` event becomes one `admin_audit` record whose `action` is "
        "a normalized `resource:verb` built from Tailscale's `target.type`, `action` and "
        "`target.property` (the event value `TARGET.ACTION[.PROPERTY]`). `severity` comes "
        "from the action through the table below unless `severity_overrides` says otherwise.",
        "",
        "## Severity",
        "",
        "| Severity | Normalized actions |",
        "| --- | --- |",
        "| high | " + ", ".join(f"`{a}`" for a in sorted(_HIGH_ACTIONS)) + " |",
        "| medium | "
        + ", ".join(f"`{a}`" for a in sorted(_MEDIUM_ACTIONS))
        + ", and any other `*:delete` or `*:remove` |",
        "| info | everything else |",
        "",
        "### Overrides",
        "",
        "The `severity_overrides` setting maps a normalized action, or a glob such as "
        "`device:*` (`*`, `?` and `[...]` as in shell patterns), to `high`, `medium` or "
        "`info`. An override beats the table. An exact action beats any glob; among globs "
        "that match, the longest pattern wins, and between equally long patterns the higher "
        "severity wins. Any other severity value is a configuration error that names the "
        'entry. Example: `{"device:*": "medium", "device:delete": "high", '
        '"session:*": "info"}`.',
        "",
        f"## Event mapping ({len(_EVENT_ROWS)} event values of the API spec)",
        "",
        "| Tailscale event | Normalized action | Default severity | Summary |",
        "| --- | --- | --- | --- |",
    ]
    for ev, action, template in _EVENT_ROWS:
        if _split_event(ev)[0] == "FAILED_REQUEST":
            summary = f"*actor* failed to {template}: *error*"
        else:
            summary = _doc_summary(template, _PASSIVE_TEMPLATES.get(ev))
        lines.append(f"| `{ev}` | `{action}` | {default_severity(action)} | {summary} |")
    lines += [
        "",
        "## Values outside that list",
        "",
        "Tailscale adds event types over time; none of these ever fails a sync.",
        "",
        "| Event | Normalized action | Default severity | Summary |",
        "| --- | --- | --- | --- |",
    ]
    for ev, action, template in _EXTRA_ROWS:
        lines.append(
            f"| `{ev}` | `{action}` | {default_severity(action)} | {_doc_summary(template, None)} |"
        )
    lines.append(
        f"| `*.*.{_AUTH_PROVIDER_PROPERTY}`, `*.{_AUTH_PROVIDER_ACTION}[.*]` | `oidc:update` "
        f"(`saml:update` when `old` or `new` mentions SAML) | {default_severity('oidc:update')}"
        f" | {_doc_summary(_AUTH_PROVIDER_TEMPLATE, None)} |"
    )
    for pattern, action, template in _FAMILY_ROWS:
        lines.append(
            f"| `{pattern}` (any other property) | `{action}` | {default_severity(action)} | "
            f"{_doc_summary(template, None)} |"
        )
    lines += [
        "| anything else | `<target type>:<action>` in lower case, e.g. `NODE.FROB` -> "
        "`node:frob`; a missing part reads `unknown` | medium for `*:delete` and "
        "`*:remove`, else info | *actor* performed *event* on *target type* *target* |",
        "",
        "Refinement by value: `USER.UPDATE.USER_ROLE` whose `new` value is `owner` is "
        "`tailnet:transfer_ownership` (high).",
        "",
        "## Why these choices",
        "",
    ]
    lines += [f"- {decision}" for decision in _DECISIONS]
    lines += [
        "",
        "## Other fields",
        "",
        "- `outcome` is `failure` when the event carries a non-empty `error` (and for "
        "`FAILED_REQUEST` targets), else `success`.",
        "- `summary` names the actor by login name, then display name, then id, then "
        '"an automated process".',
        "- `policy_diff` is set for `ACL` changes when both `old` and `new` are present: a "
        "unified diff (`old` -> `new`) of the two policies parsed as JSON or HuJSON and "
        "pretty-printed with two-space indentation, or of the raw text when either does "
        "not parse. It is empty when the policies are equivalent.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print, write or check the generated actions document."""
    parser = argparse.ArgumentParser(
        prog="python -m tap_tailscale.normalize",
        description="Generate docs/admin-audit-actions.md from the admin_audit mapping.",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="PATH", type=Path, help="write the document")
    group.add_argument(
        "--check", metavar="PATH", type=Path, help="exit 1 if PATH differs from the code"
    )
    args = parser.parse_args(argv)
    text = actions_markdown()
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8", newline="\n")
        return
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            sys.stderr.write(
                f"{args.check} is out of date; run python -m tap_tailscale.normalize "
                f"--write {args.check}\n"
            )
            raise SystemExit(1)
        return
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
