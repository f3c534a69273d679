"""Tailscale inventory: record shaping and schemas for devices, users, keys, policy and
DNS, and the device index that enriches connection rows.

Pure functions and data, no I/O and no SDK stream classes: the tap's streams fetch the
endpoints and call these.
"""

from __future__ import annotations

from typing import Any

from tap_tailscale.inventory.device_details import (
    DEVICE_DETAIL_KEYS,
    DEVICE_DETAIL_SCHEMAS,
    invite_records,
    posture_record,
)
from tap_tailscale.inventory.dns import dns_record
from tap_tailscale.inventory.index import DeviceIndex, DeviceRef, normalize_ip
from tap_tailscale.inventory.posture_rules import (
    RULE_IDS,
    RULES,
    Hit,
    PostureRule,
    Sources,
    evaluate,
)
from tap_tailscale.inventory.posture_schema import POSTURE_KEY_PROPERTIES, POSTURE_SCHEMAS
from tap_tailscale.inventory.records import (
    device_record,
    key_record,
    policy_record,
    user_record,
)
from tap_tailscale.inventory.schema import (
    DEVICES,
    DNS,
    KEYS,
    POLICY,
    USERS,
)
from tap_tailscale.inventory.schema import KEY_PROPERTIES as _BASE_KEYS
from tap_tailscale.inventory.schema import SCHEMAS as _BASE_SCHEMAS

# Every inventory stream's schema and key: the base snapshots, the posture ones and the
# per-device ones.
SCHEMAS: dict[str, dict[str, Any]] = {
    **_BASE_SCHEMAS,
    **POSTURE_SCHEMAS,
    **DEVICE_DETAIL_SCHEMAS,
}
KEY_PROPERTIES: dict[str, list[str]] = {
    **_BASE_KEYS,
    **POSTURE_KEY_PROPERTIES,
    **DEVICE_DETAIL_KEYS,
}

__all__ = [
    "DEVICES",
    "DNS",
    "KEYS",
    "KEY_PROPERTIES",
    "POLICY",
    "RULES",
    "RULE_IDS",
    "SCHEMAS",
    "USERS",
    "DeviceIndex",
    "DeviceRef",
    "Hit",
    "PostureRule",
    "Sources",
    "device_record",
    "dns_record",
    "evaluate",
    "invite_records",
    "key_record",
    "normalize_ip",
    "policy_record",
    "posture_record",
    "user_record",
]
