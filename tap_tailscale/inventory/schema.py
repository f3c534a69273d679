"""JSON schemas and keys of the inventory streams: devices, users, keys, policy, dns.

As for the log streams, every API field is nullable and every enum a plain string:
Tailscale adds key types, roles and statuses without notice. Objects with free-form
keys are JSON text (fields.JSON_TEXT) so flattening loaders do not grow a column per
key.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th
from singer_sdk.typing import Property

from tap_tailscale.fields import JSON_TEXT, TAILNET, TIMESTAMP

_STRINGS = th.ArrayType(th.StringType)

SYNCED_AT = Property(
    "synced_at",
    TIMESTAMP,
    required=True,
    description="When the snapshot holding this record was taken (one value per snapshot).",
)
VERSION_HASH = Property(
    "version_hash",
    th.StringType,
    description=(
        "sha256 of the object without its volatile fields: it changes when the object "
        "changed, not when it was merely seen again (e.g. a new lastSeen)."
    ),
)
EXTRA_FIELDS = Property(
    "extra_fields",
    JSON_TEXT,
    description="Fields this schema does not know yet, as JSON text of one object; no secrets.",
)

CLIENT_CONNECTIVITY = th.ObjectType(
    Property("endpoints", _STRINGS),
    Property("derp", th.StringType),
    Property("mappingVariesByDestIP", th.BooleanType),
    Property("latency", JSON_TEXT, description="DERP region name -> {preferred, latencyMs}."),
    Property(
        "clientSupports",
        th.ObjectType(
            *(
                Property(name, th.BooleanType)
                for name in ("hairPinning", "ipv6", "pcp", "pmp", "udp", "upnp")
            ),
            additional_properties=True,
        ),
    ),
    additional_properties=True,
)

DEVICES = th.PropertiesList(
    Property(
        "nodeId",
        th.StringType,
        required=True,
        description="Stable node id; the key with `tailnet` (a shared device is in both).",
    ),
    TAILNET,
    SYNCED_AT,
    Property("id", th.StringType, description="Legacy numeric id."),
    Property("addresses", _STRINGS, description="Tailscale IPv4 and IPv6 addresses."),
    Property("user", th.StringType, description="Registering user (the owner if untagged)."),
    Property("name", th.StringType, description="MagicDNS name."),
    Property("hostname", th.StringType),
    Property("clientVersion", th.StringType),
    Property("updateAvailable", th.BooleanType),
    Property("os", th.StringType),
    Property("created", TIMESTAMP, description="Null for external devices."),
    Property("connectedToControl", th.BooleanType),
    Property("lastSeen", TIMESTAMP, description="Null while connected or if never online."),
    Property("keyExpiryDisabled", th.BooleanType),
    Property("expires", TIMESTAMP, description="Node key expiry; null when disabled."),
    Property("authorized", th.BooleanType),
    Property("isExternal", th.BooleanType, description="Shared in from another tailnet."),
    Property("multipleConnections", th.BooleanType, description="Node key used by 2+ clients."),
    Property("machineKey", th.StringType),
    Property("nodeKey", th.StringType),
    Property("blocksIncomingConnections", th.BooleanType),
    Property("enabledRoutes", _STRINGS),
    Property("advertisedRoutes", _STRINGS),
    Property("clientConnectivity", CLIENT_CONNECTIVITY),
    Property("tags", _STRINGS),
    Property("tailnetLockError", th.StringType),
    Property("tailnetLockKey", th.StringType),
    Property("sshEnabled", th.BooleanType),
    Property(
        "postureIdentity",
        th.ObjectType(
            Property("serialNumbers", _STRINGS),
            Property("disabled", th.BooleanType),
            additional_properties=True,
        ),
    ),
    Property("isEphemeral", th.BooleanType),
    Property(
        "distro",
        th.ObjectType(
            Property("name", th.StringType),
            Property("version", th.StringType),
            Property("codeName", th.StringType),
            additional_properties=True,
        ),
    ),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

USERS = th.PropertiesList(
    Property("id", th.StringType, required=True, description="Stable user id; key with tailnet."),
    TAILNET,
    SYNCED_AT,
    Property("displayName", th.StringType),
    Property("loginName", th.StringType, description="Equals devices.user."),
    Property("profilePicUrl", th.StringType),
    Property("tailnetId", th.StringType),
    Property("created", TIMESTAMP),
    Property("type", th.StringType, description="member or shared."),
    Property("role", th.StringType, description="owner, member, admin, it-admin, ..."),
    Property("status", th.StringType, description="active, idle, suspended, ..."),
    Property("deviceCount", th.IntegerType),
    Property("lastSeen", TIMESTAMP),
    Property("currentlyConnected", th.BooleanType),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

_DEVICE_CREATE = th.ObjectType(
    Property("reusable", th.BooleanType),
    Property("ephemeral", th.BooleanType),
    Property("preauthorized", th.BooleanType),
    Property("tags", _STRINGS),
    additional_properties=True,
)

KEYS = th.PropertiesList(
    Property("id", th.StringType, required=True, description="Stable key id; key with tailnet."),
    TAILNET,
    SYNCED_AT,
    Property("keyType", th.StringType, description="auth, client, api or federated."),
    Property("description", th.StringType),
    Property("expirySeconds", th.IntegerType),
    Property("created", TIMESTAMP),
    Property("updated", TIMESTAMP),
    Property("expires", TIMESTAMP),
    Property("revoked", TIMESTAMP),
    Property("invalid", th.BooleanType, description="Revoked or expired."),
    Property(
        "capabilities",
        th.ObjectType(
            Property(
                "devices",
                th.ObjectType(Property("create", _DEVICE_CREATE), additional_properties=True),
            ),
            additional_properties=True,
        ),
        description="Auth keys: what devices registered with the key get.",
    ),
    Property("scopes", _STRINGS),
    Property("tags", _STRINGS, description="Trust credentials: the tags they may use."),
    Property("userId", th.StringType, description="Creator; empty for trust-credential keys."),
    Property("audience", th.StringType),
    Property("issuer", th.StringType),
    Property("subject", th.StringType),
    Property("customClaimRules", JSON_TEXT, description="Claim name -> pattern."),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

POLICY = th.PropertiesList(
    TAILNET,
    Property(
        "policy_version",
        th.StringType,
        required=True,
        description="The ETag's value, or `sha256:<hex>` of the text when none was sent.",
    ),
    SYNCED_AT,
    Property("etag", th.StringType, description="The ETag header as sent."),
    Property("sha256", th.StringType, description="sha256 of the HuJSON text."),
    Property("hujson", th.StringType, description="The policy file as sent, comments kept."),
    Property("policy", JSON_TEXT, description="The parsed policy, as JSON text."),
    Property("parse_error", th.StringType, description="Why the text could not be parsed."),
).to_dict()

DNS = th.PropertiesList(
    TAILNET,
    Property(
        "dns_version",
        th.StringType,
        required=True,
        description="`sha256:<hex>` of the configuration; one row per distinct one.",
    ),
    SYNCED_AT,
    Property(
        "nameservers",
        th.ArrayType(
            th.ObjectType(
                Property("address", th.StringType),
                Property("useWithExitNode", th.BooleanType),
                additional_properties=True,
            )
        ),
    ),
    Property("magicDNS", th.BooleanType),
    Property("overrideLocalDNS", th.BooleanType),
    Property("searchPaths", _STRINGS),
    Property("splitDNS", JSON_TEXT, description="Domain -> nameservers (or null), JSON text."),
    EXTRA_FIELDS,
).to_dict()

# Stream name -> primary key properties. Every key starts with the tailnet: a device
# shared into another tailnet is listed by both, with the same nodeId.
KEY_PROPERTIES: dict[str, list[str]] = {
    "devices": ["tailnet", "nodeId"],
    "users": ["tailnet", "id"],
    "keys": ["tailnet", "id"],
    "policy": ["tailnet", "policy_version"],
    "dns": ["tailnet", "dns_version"],
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "devices": DEVICES,
    "users": USERS,
    "keys": KEYS,
    "policy": POLICY,
    "dns": DNS,
}
