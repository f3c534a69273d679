"""Tailscale inventory: record shaping and schemas for devices, users, keys, policy and
DNS, and the device index that enriches connection rows.

Pure functions and data, no I/O and no SDK stream classes: the tap's streams fetch the
endpoints and call these.
"""

from __future__ import annotations

from tap_tailscale.inventory.device_details import (
    DEVICE_DETAIL_KEYS,
    DEVICE_DETAIL_SCHEMAS,
    invite_records,
    posture_record,
)
from tap_tailscale.inventory.dns import dns_record
from tap_tailscale.inventory.index import DeviceIndex, DeviceRef, normalize_ip
from tap_tailscale.inventory.records import (
    device_record,
    key_record,
    policy_record,
    user_record,
)
from tap_tailscale.inventory.schema import (
    DEVICES,
    DNS,
    KEY_PROPERTIES,
    KEYS,
    POLICY,
    SCHEMAS,
    USERS,
)

# The per-device streams' schemas and keys join the others'.
SCHEMAS.update(DEVICE_DETAIL_SCHEMAS)
KEY_PROPERTIES.update(DEVICE_DETAIL_KEYS)

__all__ = [
    "DEVICES",
    "DNS",
    "KEYS",
    "KEY_PROPERTIES",
    "POLICY",
    "SCHEMAS",
    "USERS",
    "DeviceIndex",
    "DeviceRef",
    "device_record",
    "dns_record",
    "invite_records",
    "key_record",
    "normalize_ip",
    "policy_record",
    "posture_record",
    "user_record",
]
