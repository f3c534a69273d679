"""Per-device records: `device_posture` (posture attributes) and `device_invites`.

Both come from one request per device. `device_posture` is one record per device, keyed
by (tailnet, nodeId), with the attributes and their expiries as JSON text (their keys
are free-form: `node:os`, `custom:*`, `falcon:ztaScore`, ...). `device_invites` is one
record per invite, keyed by (tailnet, id), with the `nodeId` the invite shares. An
invite's `inviteUrl` works as a bearer link (whoever holds it can accept), so only its
form is kept: the token at its end is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.typing import Property

from tap_tailscale.errors import REDACTED, RejectedEntryError
from tap_tailscale.fields import JSON_TEXT, TAILNET, TIMESTAMP
from tap_tailscale.inventory.schema import EXTRA_FIELDS, SYNCED_AT, VERSION_HASH
from tap_tailscale.inventory.shaping import (
    JSON,
    TIME,
    Converter,
    extras,
    require_object,
    shape_fields,
    snapshot_time,
    version_hash,
)
from tap_tailscale.secret_fields import is_secret, redact_invite_url

if TYPE_CHECKING:
    from datetime import datetime


DEVICE_POSTURE = th.PropertiesList(
    TAILNET,
    Property(
        "nodeId", th.StringType, required=True, description="The device; with tailnet, the key."
    ),
    SYNCED_AT,
    Property(
        "attributes",
        JSON_TEXT,
        description="Posture attributes as JSON text: `node:os`, `custom:*`, `falcon:*`, ...",
    ),
    Property("expiries", JSON_TEXT, description="Attribute name -> expiry time, as JSON text."),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

DEVICE_INVITES = th.PropertiesList(
    TAILNET,
    Property("id", th.StringType, required=True, description="Invite id; with tailnet, the key."),
    Property("nodeId", th.StringType, description="The shared device (the one asked about)."),
    SYNCED_AT,
    Property("created", TIMESTAMP),
    Property("tailnetId", th.IntegerType, description="Legacy numeric id."),
    Property("deviceId", th.IntegerType, description="The device's legacy numeric id."),
    Property("sharerId", th.IntegerType, description="Legacy numeric id of the sharing user."),
    Property("multiUse", th.BooleanType),
    Property("allowExitNode", th.BooleanType),
    Property("email", th.StringType, description="Who the invite was e-mailed to, if anyone."),
    Property("lastEmailSentAt", TIMESTAMP),
    Property(
        "inviteUrl",
        th.StringType,
        description=f"The link, its token replaced by `{REDACTED}` (it works as a bearer link).",
    ),
    Property("accepted", th.BooleanType),
    Property(
        "acceptedBy",
        th.ObjectType(
            Property("id", th.IntegerType),
            Property("loginName", th.StringType),
            Property("profilePicUrl", th.StringType),
            additional_properties=True,
        ),
    ),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

DEVICE_DETAIL_KEYS: dict[str, list[str]] = {
    "device_posture": ["tailnet", "nodeId"],
    "device_invites": ["tailnet", "id"],
}
DEVICE_DETAIL_SCHEMAS: dict[str, dict[str, Any]] = {
    "device_posture": DEVICE_POSTURE,
    "device_invites": DEVICE_INVITES,
}

_INVITE_SPEC: tuple[tuple[str, Converter], ...] = (
    ("id", None),
    ("created", TIME),
    ("tailnetId", None),
    ("deviceId", None),
    ("sharerId", None),
    ("multiUse", None),
    ("allowExitNode", None),
    ("email", None),
    ("lastEmailSentAt", TIME),
    ("inviteUrl", None),
    ("accepted", None),
    ("acceptedBy", None),
)
_INVITE_FIELDS = frozenset(name for name, _ in _INVITE_SPEC)


def posture_record(
    body: Any, node_id: str, tailnet: str, synced_at: str | datetime
) -> dict[str, Any]:
    """A `device_posture` record from one `/device/{id}/attributes` body."""
    if not isinstance(body, Mapping):
        raise RejectedEntryError(f"the body is {type(body).__name__}, not an object", node_id)
    fields = shape_fields(body, (("attributes", JSON), ("expiries", JSON)), node_id)
    for name in ("attributes", "expiries"):
        if body.get(name) is not None and not isinstance(body[name], Mapping):
            raise RejectedEntryError(f"`{name}` is not an object", node_id)
    return {
        "tailnet": tailnet,
        "nodeId": node_id,
        "synced_at": snapshot_time(synced_at),
        **fields,
        "version_hash": version_hash(body, frozenset()),
        "extra_fields": extras(body, frozenset(("attributes", "expiries"))),
    }


def invite_records(
    body: Any, node_id: str, tailnet: str, synced_at: str | datetime
) -> list[dict[str, Any]]:
    """The `device_invites` records of one `/device/{id}/device-invites` body (an array;
    `null` when the device has none)."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise RejectedEntryError(f"the body is {type(body).__name__}, not an array", node_id)
    return [_invite_record(invite, node_id, tailnet, synced_at) for invite in body]


def _invite_record(
    invite: Any, node_id: str, tailnet: str, synced_at: str | datetime
) -> dict[str, Any]:
    key = require_object(invite, "id")
    safe = {k: v for k, v in invite.items() if k != "inviteUrl" and not is_secret(k, v)}
    if "inviteUrl" in invite:
        safe["inviteUrl"] = redact_invite_url(invite["inviteUrl"])
    fields = shape_fields(safe, _INVITE_SPEC, key)
    fields["acceptedBy"] = _object_or_none(fields["acceptedBy"], key)
    return {
        "tailnet": tailnet,
        "id": key,
        "nodeId": node_id,
        "synced_at": snapshot_time(synced_at),
        **{k: v for k, v in fields.items() if k != "id"},
        "version_hash": version_hash(safe, frozenset()),
        "extra_fields": extras(safe, _INVITE_FIELDS),
    }


def _object_or_none(value: Any, key: str) -> Any:
    if value is None or isinstance(value, Mapping):
        return value
    raise RejectedEntryError(f"`acceptedBy` is {type(value).__name__}, not an object", key)


__all__ = [
    "DEVICE_DETAIL_KEYS",
    "DEVICE_DETAIL_SCHEMAS",
    "REDACTED",
    "invite_records",
    "posture_record",
    "redact_invite_url",
]
