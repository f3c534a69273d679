"""Per-device answers: posture attributes and device invites, and finding a device by id.

`GET /device/{id}/attributes` answers `{"attributes": {...}, "expiries": {...}}` with
namespaced keys (`node:*` from the client, `custom:*` set through the API with an
optional expiry); `GET /device/{id}/device-invites` a bare array of DeviceInvite, whose
ids are the API's legacy numeric ids. A device is found by `nodeId` or legacy `id`
through an index of a few ints per device, so 50,000 per-device requests cost 50,000
dictionary lookups, not 50,000 scans of the list.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tailscale_emulator.inventory import device_places, external_base, stamp
from tailscale_emulator.nodes import make_node
from tailscale_emulator.timefmt import NS_PER_SECOND

if TYPE_CHECKING:
    from tailscale_emulator.dataset import TailnetConfig

JsonDict = dict[str, Any]
_DAY_NS = 86400 * NS_PER_SECOND
# Devices shared with someone outside the tailnet: three machines in ten.
_SHARED_HOSTS = ("alice-laptop", "bob-phone", "gw-office")
_OS_VERSIONS = {
    "linux": "6.8.0-51-generic",
    "windows": "10.0.22631.4602",
    "macOS": "15.2.0",
    "iOS": "18.2",
    "android": "15",
    "freebsd": "14.2-RELEASE",
}


# (salt, tailnet, the config's device counts) -> id -> place; a few recent tailnets.
_INDEXES: dict[tuple[Any, ...], dict[str, tuple[bool, int]]] = {}


def _index(salt: int, tailnet: str, cfg: TailnetConfig) -> dict[str, tuple[bool, int]]:
    found: dict[str, tuple[bool, int]] = {}
    base = external_base(cfg)
    for external, number in device_places(cfg):
        if external:
            node = make_node(salt, tailnet, base + number)
            legacy = str(50052 + number)
        else:
            node = make_node(salt, tailnet, number)
            legacy = str(10**16 + node.hash % (9 * 10**16))
        found[node.node_id] = found[legacy] = (external, number)
    return found


def find_device(
    salt: int, tailnet: str, cfg: TailnetConfig, device_id: str
) -> tuple[bool, int] | None:
    """The place (external, number) of the device with this `nodeId` or legacy id."""
    shape = (cfg.network_nodes, cfg.deleted_nodes, cfg.idle_devices, cfg.external_devices)
    key = (salt, tailnet, *shape, cfg.inventory_devices)
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        index = _INDEXES[key] = _index(salt, tailnet, cfg)
    return index.get(device_id)


def _digest(device: JsonDict, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{label}:{device['nodeId']}".encode()).digest()[:8])


def posture_attributes(device: JsonDict, now_ns: int) -> JsonDict:
    """`GET /device/{id}/attributes` for one listed device (`fields=all` form)."""
    if device.get("isExternal"):
        return {"attributes": {}, "expiries": {}}
    h = _digest(device, "posture")
    version = str(device.get("clientVersion") or "").split("-")[0]
    attributes: JsonDict = {
        "node:os": device["os"],
        "node:osVersion": _OS_VERSIONS.get(device["os"], "1.0"),
        "node:tsVersion": version,
        "node:tsReleaseTrack": "unstable" if h % 11 == 0 else "stable",
        "node:tsAutoUpdate": h % 3 != 0,
        "node:tsStateEncrypted": device["os"] in {"macOS", "iOS", "windows"},
    }
    expiries: JsonDict = {}
    if h % 3 == 1:  # set through the API, with an expiry: every other one has passed
        attributes["custom:patchLevel"] = 3 + h % 9
        days = 20 - (h >> 8) % 40
        expiries["custom:patchLevel"] = stamp(now_ns + days * _DAY_NS)
    if h % 5 == 2:  # from a posture integration: a score with a fraction
        attributes["falcon:ztaScore"] = round(40 + (h >> 16) % 600 / 10, 1)
    return {"attributes": attributes, "expiries": expiries}


def device_invites(device: JsonDict, now_ns: int) -> list[JsonDict]:
    """`GET /device/{id}/device-invites`: who the device is shared with (mostly nobody)."""
    h = _digest(device, "invites")
    shared = str(device.get("hostname", "")).startswith(_SHARED_HOSTS)
    if device.get("isExternal") or not shared:
        return []
    invites = []
    for n in range(1 + (h >> 4) % 2):
        created = now_ns - (3 + (h >> (8 + n)) % 60) * _DAY_NS
        accepted = n == 0 and (h >> 12) % 2 == 0
        invite: JsonDict = {
            "id": str(20000 + (h >> 20) % 70000 + n),
            "created": stamp(created),
            "tailnetId": 59954,
            "deviceId": int(device["id"]),
            "sharerId": 22012,
            "multiUse": n == 1,
            "allowExitNode": (h >> 14) % 4 == 0,
            "email": f"contractor{n}@partner.example",
            "lastEmailSentAt": stamp(created),
            "inviteUrl": f"https://login.tailscale.com/admin/invite/{h >> 24:x}{n}",
            "accepted": accepted,
        }
        if accepted:
            invite["acceptedBy"] = {
                "id": 33223,
                "loginName": "contractor0@partner.example",
                "profilePicUrl": "",
            }
        invites.append(invite)
    return invites
