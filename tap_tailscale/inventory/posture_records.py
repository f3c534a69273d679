"""Posture objects as stream records: settings, log streaming, webhooks, posture
integrations, user invites, Services and contacts.

Values pass through as sent, except timestamps (normalized, `""` and Go's zero time as
null), free-form objects (JSON text), and secrets: write-only credential fields are
dropped wherever they appear, and an invite link keeps its address but not its code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tap_tailscale.errors import InvalidTimestampError, RejectedEntryError
from tap_tailscale.inventory.shaping import (
    JSON,
    TIME,
    Converter,
    content_hash,
    extras,
    require_object,
    shape_fields,
    snapshot_time,
    version_hash,
)
from tap_tailscale.secret_fields import is_secret, redact_invite_url
from tap_tailscale.timeutil import normalize_optional_timestamp

if TYPE_CHECKING:
    from datetime import datetime

Spec = tuple[tuple[str, Converter], ...]


def _without_secrets(value: Any) -> Any:
    """A nested object with every secret field removed, at any depth."""
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if not is_secret(k, v)}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _status(value: Any) -> Any:
    """A status object without secrets, its times normalized (an invalid one kept as sent)."""
    if not isinstance(value, Mapping):
        return value
    shaped = dict(_without_secrets(value))
    for name in ("lastActivity", "lastSync"):
        if isinstance(shaped.get(name), str):
            with contextlib.suppress(InvalidTimestampError):
                shaped[name] = normalize_optional_timestamp(shaped[name])
    return shaped


SETTINGS_FIELDS = (
    "aclsExternallyManagedOn",
    "aclsExternalLink",
    "devicesApprovalOn",
    "devicesAutoUpdatesOn",
    "devicesKeyDurationDays",
    "usersApprovalOn",
    "usersRoleAllowedToJoinExternalTailnets",
    "networkFlowLoggingOn",
    "regionalRoutingOn",
    "postureIdentityCollectionOn",
    "httpsEnabled",
)
# Settings fields the API leaves out without a scope other than `feature_settings:read`.
SETTINGS_SCOPES: dict[str, str] = {
    "networkFlowLoggingOn": "logs:network:read",
    "httpsEnabled": "networking_settings:read",
    "aclsExternallyManagedOn": "policy_file:read",
    "aclsExternalLink": "policy_file:read",
}
LOG_STREAM_SPEC: Spec = tuple(
    (name, None)
    for name in (
        "destinationType",
        "url",
        "user",
        "uploadPeriodMinutes",
        "compressionFormat",
        "s3Bucket",
        "s3Region",
        "s3KeyPrefix",
        "s3AuthenticationType",
        "s3AccessKeyId",
        "s3RoleArn",
        "s3ExternalId",
        "gcsBucket",
        "gcsKeyPrefix",
        "gcsScopes",
    )
)
WEBHOOK_SPEC: Spec = (
    ("endpointId", None),
    ("endpointUrl", None),
    ("providerType", None),
    ("creatorLoginName", None),
    ("created", TIME),
    ("lastModified", TIME),
    ("subscriptions", None),
)
INTEGRATION_SPEC: Spec = (
    ("id", None),
    ("provider", None),
    ("cloudId", None),
    ("clientId", None),
    ("tenantId", None),
    ("configUpdated", TIME),
    ("status", _status),
)
INVITE_SPEC: Spec = (
    ("id", None),
    ("role", None),
    ("tailnetId", None),
    ("inviterId", None),
    ("email", None),
    ("lastEmailSentAt", TIME),
    ("inviteUrl", redact_invite_url),
)
SERVICE_SPEC: Spec = (
    ("name", None),
    ("addrs", None),
    ("comment", None),
    ("ports", None),
    ("tags", None),
    ("annotations", JSON),
)
CONTACT_SPEC: Spec = (("email", None), ("fallbackEmail", None), ("needsVerification", None))


def _hashable(obj: Mapping[str, Any]) -> dict[str, Any]:
    # The invite link's code is a secret too: hash the redacted form.
    return {k: redact_invite_url(v) if k == "inviteUrl" else v for k, v in obj.items()}


def object_record(obj: Any, spec: Spec, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A record keyed by the spec's first field, with the snapshot fields."""
    key_field = spec[0][0]
    key = require_object(obj, key_field)
    return {
        key_field: key,
        "tailnet": tailnet,
        "synced_at": snapshot_time(synced_at),
        **shape_fields(obj, spec, key),
        "version_hash": version_hash(_hashable(obj), frozenset()),
        "extra_fields": extras(_without_secrets(obj), frozenset(n for n, _ in spec)),
    }


def webhook_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `webhooks` record, keyed by `endpointId`; `secret` is dropped."""
    return object_record(obj, WEBHOOK_SPEC, tailnet, synced_at)


def integration_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `posture_integrations` record, keyed by `id`; `clientSecret` is dropped."""
    return object_record(obj, INTEGRATION_SPEC, tailnet, synced_at)


def invite_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `user_invites` record, keyed by `id`; `inviteUrl` loses its code."""
    return object_record(obj, INVITE_SPEC, tailnet, synced_at)


def service_record(
    obj: Any, hosts: Any, hosts_error: str | None, tailnet: str, synced_at: str | datetime
) -> dict[str, Any]:
    """A `services` record, keyed by (tailnet, name), with the body of its hosts call."""
    record = object_record(obj, SERVICE_SPEC, tailnet, synced_at)
    found = hosts.get("hosts") if isinstance(hosts, Mapping) else None
    record["hosts"] = found if isinstance(found, list) else None
    record["hosts_error"] = hosts_error
    return record


def settings_record(
    body: Any, tailnet: str, synced_at: str | datetime
) -> tuple[dict[str, Any], list[str]]:
    """The `tailnet_settings` record and the scopes whose fields the answer left out."""
    if not isinstance(body, Mapping):
        raise RejectedEntryError(f"settings body is {type(body).__name__}, not an object", None)
    # A scope is missing when every field it governs is absent (one absent field may
    # just be empty).
    governed: dict[str, list[str]] = {}
    for name in SETTINGS_FIELDS:
        governed.setdefault(SETTINGS_SCOPES.get(name, "feature_settings:read"), []).append(name)
    missing = sorted(
        scope for scope, names in governed.items() if not any(n in body for n in names)
    )
    content = {
        **{name: body.get(name) for name in SETTINGS_FIELDS},
        "missing_scopes": missing,
        "extra_fields": extras(_without_secrets(body), frozenset(SETTINGS_FIELDS)),
    }
    record = {
        "tailnet": tailnet,
        "settings_version": content_hash(content),
        "synced_at": snapshot_time(synced_at),
        **content,
    }
    return record, missing


def log_stream_record(  # noqa: PLR0917 - one argument per answer part
    log_type: str,
    configuration: Any,
    status: Any,
    status_error: str | None,
    tailnet: str,
    synced_at: str | datetime,
) -> dict[str, Any]:
    """A `log_streaming` record for one log type. `configuration` None: not configured."""
    body = configuration if isinstance(configuration, Mapping) else {}
    known = frozenset(("logType", *(n for n, _ in LOG_STREAM_SPEC)))
    return {
        "tailnet": tailnet,
        "logType": log_type,
        "synced_at": snapshot_time(synced_at),
        "configured": configuration is not None,
        **shape_fields(body, LOG_STREAM_SPEC, log_type),
        "status": _status(status) if isinstance(status, Mapping) else None,
        "status_error": status_error,
        "version_hash": version_hash(_without_secrets(body), frozenset()),
        "extra_fields": extras(_without_secrets(body), known),
    }


def contact_records(body: Any, tailnet: str, synced_at: str | datetime) -> list[dict[str, Any]]:
    """One `contacts` record per contact type (account, support, security, ...)."""
    if not isinstance(body, Mapping):
        raise RejectedEntryError(f"contacts body is {type(body).__name__}, not an object", None)
    records = []
    for contact_type, contact in body.items():
        if not isinstance(contact, Mapping):
            continue
        records.append(
            {
                "tailnet": tailnet,
                "contactType": contact_type,
                "synced_at": snapshot_time(synced_at),
                **shape_fields(contact, CONTACT_SPEC, contact_type),
                "version_hash": version_hash(_without_secrets(contact), frozenset()),
                "extra_fields": extras(
                    _without_secrets(contact), frozenset(n for n, _ in CONTACT_SPEC)
                ),
            }
        )
    return records
