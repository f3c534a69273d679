"""The audit event types the `event` filter knows, and the filter itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

# The `event` filter enum of listConfigurationAuditLogs, in spec order
# (tailscale-client-go-v2 OpenAPI spec, commit b5064907). A word list keeps 116 names short.
EVENT_TYPES: tuple[str, ...] = tuple(
    """
    ADMIN_CONSOLE.LOGIN ADMIN_CONSOLE.LOGOUT API_KEY.CREATE API_KEY.EXPIRED API_KEY.REVOKE
    BILLING.CANCEL.SUBSCRIPTION BILLING.CREATE.SUBSCRIPTION BILLING.UPDATE.ADDRESS
    BILLING.UPDATE.BILLING_OWNER BILLING.UPDATE.EMAIL BILLING.UPDATE.PAYMENT_INFO
    BILLING.UPDATE.STRIPE_CUSTOMER_ID BILLING.UPDATE.SUBSCRIPTION FAILED_REQUEST.UPDATE
    GROUP.PUSH_GROUP.ATTRIBUTES INVITE.ACCEPT.FEATURE INVITE.ACCEPT.NODE_SHARE
    INVITE.ACCEPT.TAILNET_INVITE INVITE.CREATE.FEATURE INVITE.CREATE.NODE_SHARE
    INVITE.CREATE.TAILNET_INVITE INVITE.DELETE.NODE_SHARE INVITE.DELETE.TAILNET_INVITE
    INVITE.RESEND.NODE_SHARE INVITE.RESEND.TAILNET_INVITE NODE.APPROVE NODE.CREATE
    NODE.CREATE.ATTRIBUTES NODE.DELETE NODE.DELETE.ATTRIBUTES NODE.DISABLE.KEY_EXPIRY
    NODE.DISCONNECT_NODE.CLIENT_LOG NODE.ENABLE.KEY_EXPIRY NODE.EXPIRED.KEY_EXPIRY_TIME
    NODE.LOGIN NODE.LOGOUT NODE.REVOKE NODE.UPDATE.ACL_TAGS NODE.UPDATE.ALLOWED_IPS
    NODE.UPDATE.ATTRIBUTES NODE.UPDATE.AUTO_APPROVED_ROUTES NODE.UPDATE.EXIT_NODE
    NODE.UPDATE.KEY_EXPIRY_TIME NODE.UPDATE.MACHINE_NAME NODE.UPDATE.POSTURE_IDENTITY
    NODE.UPDATE.TKA SHARE.CREATE SHARE.DELETE SHARE.UPDATE TAILNET.ACCEPT.FEATURE TAILNET.CREATE
    TAILNET.CREATE.LOGSTREAM_ENDPOINT TAILNET.CREATE.POSTURE_INTEGRATION TAILNET.CREATE.TKA
    TAILNET.DELETE.LOGSTREAM_ENDPOINT TAILNET.DELETE.POSTURE_INTEGRATION TAILNET.DELETE.TKA
    TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY TAILNET.DISABLE.COLLECT_SERVICES
    TAILNET.DISABLE.FILE_SHARING TAILNET.DISABLE.GEOSTEERING TAILNET.DISABLE.HTTPS
    TAILNET.DISABLE.LOG_EXIT_FLOWS TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED
    TAILNET.DISABLE.MAGIC_DNS TAILNET.DISABLE.MULLVAD_VPN TAILNET.DISABLE.NETWORK_FLOW_LOGGING
    TAILNET.DISABLE.SCIM TAILNET.DISABLE.TKA TAILNET.DISABLE.USER_APPROVAL_REQUIRED
    TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY TAILNET.ENABLE.COLLECT_SERVICES
    TAILNET.ENABLE.FILE_SHARING TAILNET.ENABLE.GEOSTEERING TAILNET.ENABLE.HTTPS
    TAILNET.ENABLE.LOG_EXIT_FLOWS TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED
    TAILNET.ENABLE.MAGIC_DNS TAILNET.ENABLE.MULLVAD_VPN TAILNET.ENABLE.NETWORK_FLOW_LOGGING
    TAILNET.ENABLE.SCIM TAILNET.ENABLE.TKA TAILNET.ENABLE.USER_APPROVAL_REQUIRED TAILNET.JOIN
    TAILNET.JOIN_WAITLIST.FEATURE TAILNET.LEAVE TAILNET.UPDATE.ACCOUNT_EMAIL TAILNET.UPDATE.ACL
    TAILNET.UPDATE.DNS_CONFIG TAILNET.UPDATE.LOGSTREAM_ENDPOINT TAILNET.UPDATE.MAX_KEY_DURATION
    TAILNET.UPDATE.POSTURE_INTEGRATION TAILNET.UPDATE.SECURITY_EMAIL
    TAILNET.UPDATE.SUPPORT_EMAIL TAILNET.UPDATE.TCD TAILNET.UPDATE.TKA
    TAILNET.VERIFY.ACCOUNT_EMAIL TAILNET.VERIFY.SECURITY_EMAIL TAILNET.VERIFY.SUPPORT_EMAIL
    USER.APPROVE USER.CREATE USER.DELETE USER.INVITE USER.PUSH_USER.ATTRIBUTES
    USER.RESEND.TAILNET_INVITE USER.RESTORE USER.RESTORE_GLOBAL USER.SUSPEND USER.SUSPEND_GLOBAL
    USER.UPDATE.USER_ROLE WEBHOOK_ENDPOINT.CREATE WEBHOOK_ENDPOINT.DELETE
    WEBHOOK_ENDPOINT.UPDATE.SECRET WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS WEB_INTERFACE.LOGIN
    WEB_INTERFACE.LOGOUT
    """.split()  # noqa: SIM905
)
EVENT_TYPE_SET = frozenset(EVENT_TYPES)
PARTS: tuple[tuple[str, str, str], ...] = tuple(
    (p[0], p[1], p[2] if len(p) > 2 else "") for p in (t.split(".") for t in EVENT_TYPES)
)
POLICY_UPDATE = "TAILNET.UPDATE.ACL"


@dataclass(frozen=True)
class ConfigFilter:
    """The optional `actor`, `target` and `event` query filters (OR within, AND across)."""

    actor: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    event: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actor or self.target or self.event)

    def matches(self, ev: Mapping[str, Any]) -> bool:
        """Whether one configuration event passes every given filter."""
        if self.event and event_type_of(ev) not in self.event:
            return False
        if self.actor and not any(_actor_matches(ev.get("actor") or {}, a) for a in self.actor):
            return False
        if self.target:
            tgt = ev.get("target") or {}
            hay = (str(tgt.get("id", "")).lower(), str(tgt.get("name", "")).lower())
            if not any(t.lower() in h for t in self.target for h in hay):
                return False
        return True


def event_type_of(ev: Mapping[str, Any]) -> str:
    """The `TARGETTYPE.ACTION[.PROPERTY]` string the `event` filter compares with."""
    tgt = ev.get("target") or {}
    key = f"{tgt.get('type', '')}.{ev.get('action', '')}"
    prop = tgt.get("property")
    return f"{key}.{prop}" if prop else key


def _actor_matches(actor: Mapping[str, Any], wanted: str) -> bool:
    if wanted.startswith("~"):
        needle = wanted[1:].lower()
        return (
            needle in str(actor.get("loginName", "")).lower()
            or needle in str(actor.get("displayName", "")).lower()
        )
    return actor.get("id") == wanted
