"""The event table: every Tailscale configuration event and its normalized action.

Tailscale describes a change as (target.type, action, target.property), e.g.
`NODE.UPDATE.ACL_TAGS`. Security teams search for a small `resource:verb` vocabulary
(`tag:update`). This module is the single source of the event list: the emulator's
dataset, the tests and docs/admin-audit-actions.md are derived from `EVENT_ROWS`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from tap_tailscale.admin_audit.fields import key, mapping, split_event, text


class EventRow(NamedTuple):
    """One event value, its normalized action and its summary template.

    Templates start with a base-form verb so one template yields both "x updated ..."
    and "x failed to update ...". Placeholders: {t} target name (else id), {tid}
    target id (else name), {prop} the property in words.
    """

    event: str
    action: str
    template: str


# Every value of the `event` filter enum of the API spec, in spec order.
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("ADMIN_CONSOLE.LOGIN", "session:login", "log in to the admin console"),
    ("ADMIN_CONSOLE.LOGOUT", "session:logout", "log out of the admin console"),
    ("API_KEY.CREATE", "auth_key:create", "create {kind} {tid}"),
    ("API_KEY.EXPIRED", "auth_key:expire", "expire {kind} {tid}"),
    ("API_KEY.REVOKE", "auth_key:delete", "revoke {kind} {tid}"),
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
EVENT_ROWS: tuple[EventRow, ...] = tuple(EventRow(*row) for row in _ROWS)
EVENT_TYPES: tuple[str, ...] = tuple(row.event for row in EVENT_ROWS)
"""The event values of the API spec's `event` filter enum, in spec order."""

# Values the spec's field enums allow but its event filter does not list. They
# are mapped on purpose rather than left to the fallback, because the fallback
# would rate them lower than what they mean.
_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("TAILNET.DELETE.ACL", "acl:delete", "delete the tailnet ACL policy"),
)
EXTRA_ROWS: tuple[EventRow, ...] = tuple(EventRow(*row) for row in _EXTRA)


class LiveRow(NamedTuple):
    """An event value seen in live logs that the spec does not list, and where it was seen."""

    event: str
    action: str
    template: str
    source: str


_TS2OTEL = "rknightion/tailscale2otel"
# Event values captured from the live API that the spec's enums do not list.
LIVE_ROWS: tuple[LiveRow, ...] = (
    LiveRow(
        "OAUTH_ACCESS_TOKEN.CREATE",
        "oauth_token:create",
        "issue an OAuth access token",
        f"{_TS2OTEL} `internal/collector/objectstore/testdata/audit_export_real.ndjson` (a "
        "live S3 export: 10 of 20 events; every token an OAuth client gets, this tap's too) "
        "and `internal/stream/stream_test.go`",
    ),
    LiveRow(
        "NODE.UPDATE.POSTURE",
        "device:update",
        "change posture collection of device {t}",
        f"{_TS2OTEL} `internal/audit/processor_test.go` (a live capture: "
        "`PostureDisabled` false to true)",
    ),
)

# Property-wide rules: (target type, action) -> action for any property not in the
# tables above, so a new tailnet toggle still lands on settings:update.
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("TAILNET.ENABLE.*", "settings:update", "enable the tailnet setting {prop}"),
    ("TAILNET.DISABLE.*", "settings:update", "disable the tailnet setting {prop}"),
    ("NODE.UPDATE.*", "device:update", "update {prop} of device {t}"),
    ("USER.UPDATE.*", "user:update", "update {prop} of user {t}"),
    ("WEBHOOK_ENDPOINT.UPDATE.*", "webhook:update", "update {prop} of webhook {t}"),
    ("BILLING.UPDATE.*", "billing:update", "update billing {prop}"),
)
FAMILY_ROWS: tuple[EventRow, ...] = tuple(EventRow(*row) for row in _FAMILIES)

# The event does not say which protocol the identity provider speaks; OIDC is the
# common case, and the record builder switches to saml:update when old/new say SAML.
AUTH_PROVIDER_PROPERTY = "AUTH_PROVIDER"
AUTH_PROVIDER_ACTION = "MIGRATE_AUTH_PROVIDER"

_MAPPED: tuple[EventRow | LiveRow, ...] = (*EVENT_ROWS, *EXTRA_ROWS, *LIVE_ROWS)
KNOWN_EVENTS: frozenset[str] = frozenset(row.event for row in _MAPPED)
_EXACT: dict[tuple[str, str, str | None], str] = {
    split_event(row.event): row.action for row in _MAPPED
}
TEMPLATES: dict[str, str] = {row.event: row.template for row in _MAPPED}
FAMILY: dict[tuple[str, str], EventRow] = {split_event(row.event)[:2]: row for row in FAMILY_ROWS}


def event_type(event: Any) -> str:
    """`TARGET.ACTION[.PROPERTY]` for a configuration event; UNKNOWN for missing parts."""
    event = mapping(event)
    target = mapping(event.get("target"))
    ttype = key(text(target.get("type"))) or "UNKNOWN"
    action = key(text(event.get("action"))) or "UNKNOWN"
    prop = key(text(target.get("property")))
    return f"{ttype}.{action}.{prop}" if prop else f"{ttype}.{action}"


def is_auth_provider_change(action: str | None, prop: str | None) -> bool:
    """Whether an event changes the tailnet's identity provider (any target type)."""
    return prop == AUTH_PROVIDER_PROPERTY or action == AUTH_PROVIDER_ACTION


@lru_cache(maxsize=1024)
def _normalize(ttype: str | None, action: str | None, prop: str | None) -> str:
    exact = _EXACT.get((ttype or "", action or "", prop))
    if exact is not None:
        return exact
    if is_auth_provider_change(action, prop):
        return "oidc:update"
    if prop is not None:
        family = FAMILY.get((ttype or "", action or ""))
        if family is not None:
            return family.action
    return f"{(ttype or 'unknown').lower()}:{(action or 'unknown').lower()}"


def normalize_action(target_type: str | None, action: str | None, prop: str | None) -> str:
    """Map Tailscale's (target.type, action, target.property) to a `resource:verb` action.

    Unknown combinations fall back to `<target type>:<action>` in lower case; this
    never raises, whatever the inputs.
    """
    return _normalize(key(text(target_type)), key(text(action)), key(text(prop)))


# Why the less obvious rows are what they are; rendered into the docs so the
# reasoning ships next to the table it explains.
DECISIONS: tuple[str, ...] = (
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
    "API access tokens, auth keys and OAuth clients alike; the summary names the kind from "
    "`new.capabilities` (node-auth capabilities: an auth key) or `target.name` (`Auth key`, "
    "`API access token`, `OAuth client`), and says `API key` when neither tells.",
    "`OAUTH_ACCESS_TOKEN.CREATE` is `oauth_token:create` (info): an OAuth client exchanged "
    "its secret for a short-lived access token, as this tap does at every token. Creating "
    "the client itself is `API_KEY.CREATE`.",
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
