"""Inventory objects as stream records: devices, users, keys, policy and DNS.

Each function takes one API object (or body) as sent, the tailnet and the snapshot
instant. Values pass through as sent, except timestamps (normalized, `""` and Go's zero
time as null) and objects with free-form keys (JSON text). Unknown fields go to
`extra_fields`; secrets go nowhere.
"""

from __future__ import annotations

from hashlib import sha256
from typing import TYPE_CHECKING, Any

from tap_tailscale.fields import json_text
from tap_tailscale.inventory.shaping import (
    JSON,
    TIME,
    Converter,
    canonical_text,
    extras,
    require_object,
    shape_fields,
    snapshot_time,
    version_hash,
)
from tap_tailscale.policy import PolicyParseError, parse_policy

if TYPE_CHECKING:
    from datetime import datetime


def _connectivity(value: Any) -> Any:
    # `latency` is keyed by DERP region name: JSON text, not one column per region.
    if isinstance(value, dict) and "latency" in value:
        return {**value, "latency": canonical_text(value["latency"])}
    return value


DEVICE_SPEC: tuple[tuple[str, Converter], ...] = (
    ("nodeId", None),
    ("id", None),
    ("addresses", None),
    ("user", None),
    ("name", None),
    ("hostname", None),
    ("clientVersion", None),
    ("updateAvailable", None),
    ("os", None),
    ("created", TIME),
    ("connectedToControl", None),
    ("lastSeen", TIME),
    ("keyExpiryDisabled", None),
    ("expires", TIME),
    ("authorized", None),
    ("isExternal", None),
    ("multipleConnections", None),
    ("machineKey", None),
    ("nodeKey", None),
    ("blocksIncomingConnections", None),
    ("enabledRoutes", None),
    ("advertisedRoutes", None),
    ("clientConnectivity", _connectivity),
    ("tags", None),
    ("tailnetLockError", None),
    ("tailnetLockKey", None),
    ("sshEnabled", None),
    ("postureIdentity", None),
    ("isEphemeral", None),
    ("distro", None),
)
# Fields that change between polls without anyone changing the device.
DEVICE_VOLATILE = frozenset(
    ("lastSeen", "connectedToControl", "clientConnectivity", "multipleConnections")
)

USER_SPEC: tuple[tuple[str, Converter], ...] = (
    ("id", None),
    ("displayName", None),
    ("loginName", None),
    ("profilePicUrl", None),
    ("tailnetId", None),
    ("created", TIME),
    ("type", None),
    ("role", None),
    ("status", None),
    ("deviceCount", None),
    ("lastSeen", TIME),
    ("currentlyConnected", None),
)
# `status` flips between active and idle with time alone.
USER_VOLATILE = frozenset(("status", "deviceCount", "lastSeen", "currentlyConnected"))

# No `key`: the secret is only returned at creation and is never emitted.
KEY_SPEC: tuple[tuple[str, Converter], ...] = (
    ("id", None),
    ("keyType", None),
    ("description", None),
    ("expirySeconds", None),
    ("created", TIME),
    ("updated", TIME),
    ("expires", TIME),
    ("revoked", TIME),
    ("invalid", None),
    ("capabilities", None),
    ("scopes", None),
    ("tags", None),
    ("userId", None),
    ("audience", None),
    ("issuer", None),
    ("subject", None),
    ("customClaimRules", JSON),
)
KEY_VOLATILE: frozenset[str] = frozenset()


def _object_record(
    obj: Any,
    spec: tuple[tuple[str, Converter], ...],
    volatile: frozenset[str],
    tailnet: str,
    synced_at: str | datetime,
) -> dict[str, Any]:
    key_field = spec[0][0]
    key = require_object(obj, key_field)
    fields = shape_fields(obj, spec, key)
    return {
        key_field: key,
        "tailnet": tailnet,
        "synced_at": snapshot_time(synced_at),
        **fields,
        "version_hash": version_hash(obj, volatile),
        "extra_fields": extras(obj, frozenset(name for name, _ in spec)),
    }


def device_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `devices` record from one Device object (`?fields=all`), keyed by `nodeId`."""
    return _object_record(obj, DEVICE_SPEC, DEVICE_VOLATILE, tailnet, synced_at)


def user_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `users` record from one User object, keyed by `id`."""
    return _object_record(obj, USER_SPEC, USER_VOLATILE, tailnet, synced_at)


def key_record(obj: Any, tailnet: str, synced_at: str | datetime) -> dict[str, Any]:
    """A `keys` record from one Key object (auth key, API token, OAuth client or federated
    identity), keyed by `id`. A secret, if the API ever sent one, is dropped."""
    return _object_record(obj, KEY_SPEC, KEY_VOLATILE, tailnet, synced_at)


def policy_record(
    hujson_text: str, etag: str | None, tailnet: str, synced_at: str | datetime
) -> dict[str, Any]:
    """A `policy` record: one per distinct policy version, keyed by (tailnet,
    policy_version). The version is the ETag when the API sent one, else the text's hash.
    """
    digest = sha256(hujson_text.encode()).hexdigest()
    # The ETag header is quoted (`"d253..."`, weak ones `W/"..."`); the key is its value.
    tag = etag.strip().removeprefix("W/").strip('"') if etag else ""
    try:
        parsed, error = json_text(parse_policy(hujson_text)), None
    except PolicyParseError as exc:
        parsed, error = None, str(exc)
    return {
        "tailnet": tailnet,
        "policy_version": tag or f"sha256:{digest}",
        "synced_at": snapshot_time(synced_at),
        "etag": etag,
        "sha256": digest,
        "hujson": hujson_text,
        "policy": parsed,
        "parse_error": error,
    }
