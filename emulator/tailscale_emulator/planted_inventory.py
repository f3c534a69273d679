"""The planted scenario's inventory: devices, users and keys that the TS-H rules must find.

Fixed times (created, expires) count from `start`, the dataset's start, so that they stay
the same from one load to the next; `lastSeen` counts from `now`, the dataset's end (when the
snapshot is taken); the expected findings assume `now` near `start + 14 days`. Phase two starts
`PHASE_TWO_AFTER` after the dataset's start: device `db-1` then has SSH switched on,
`build-1` gains a tag and `temp-build` is gone, so two loads make an inventory history.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tailscale_emulator.inventory import ALL_ONLY_FIELDS, stamp
from tailscale_emulator.timefmt import NS_PER_SECOND

JsonDict = dict[str, Any]
_DAY = 86400 * NS_PER_SECOND
CURRENT_VERSION = "1.92.3-t1a2b3c4d5-g6e7f8a9b0"
OLD_VERSION = "1.58.2-t5e6f7a8b9-gaabbccdd11"


class PlantedNode:
    """One device of the scenario: its number decides its addresses."""

    def __init__(self, number: int, host: str, tags: list[str], user: str) -> None:
        self.number = number
        self.host = host
        self.tags = tags
        self.user = user
        self.node_id = f"nPL{number:02d}{host.replace('-', '')[:4]}CNTRL"
        self.ipv4 = f"100.70.0.{number}"
        self.ipv6 = f"fd7a:115c:a1e0::70:{number}"
        self.public = f"203.0.113.{number}:41641"

    def fqdn(self, tailnet: str) -> str:
        return f"{self.host}.{tailnet.replace('.', '-')}.ts.net"


# The four nodes that report flow logs, then the inventory-only devices.
REPORTERS = (
    PlantedNode(1, "web-1", ["tag:web"], "alice@example.com"),
    PlantedNode(2, "db-1", ["tag:db"], "dana@example.com"),
    PlantedNode(3, "build-1", ["tag:ci"], "dana@example.com"),
    PlantedNode(4, "exit-1", ["tag:exit"], "alice@example.com"),
)
_DORMANT = PlantedNode(10, "old-kiosk", [], "alice@example.com")
_UNAUTHORIZED = PlantedNode(11, "unknown-pi", [], "mallory@example.com")
_OUTDATED = PlantedNode(12, "legacy-nas", ["tag:storage"], "dana@example.com")
_LOCK_ERROR = PlantedNode(13, "lock-fail", [], "alice@example.com")
_EXTERNAL = PlantedNode(14, "partner-laptop", [], "partner@vendor.example")
_TEMPORARY = PlantedNode(15, "temp-build", ["tag:ci"], "dana@example.com")


def _hex(node: PlantedNode, label: str) -> str:
    return hashlib.sha256(f"{label}:{node.node_id}".encode()).hexdigest()


def _device(node: PlantedNode, tailnet: str, start: int, now: int) -> JsonDict:
    return {
        "addresses": [node.ipv4, node.ipv6],
        "id": str(70_000_000_000_000 + node.number),
        "nodeId": node.node_id,
        "user": node.user,
        "name": node.fqdn(tailnet),
        "hostname": node.host,
        "clientVersion": CURRENT_VERSION,
        "updateAvailable": False,
        "os": "linux",
        "created": stamp(start - 86 * _DAY),
        "lastSeen": stamp(now - 300 * NS_PER_SECOND),
        "connectedToControl": True,
        "keyExpiryDisabled": False,
        "expires": stamp(start + 164 * _DAY),
        "authorized": True,
        "isExternal": False,
        "machineKey": "mkey:" + _hex(node, "machine"),
        "nodeKey": "nodekey:" + _hex(node, "node"),
        "blocksIncomingConnections": False,
        "enabledRoutes": [],
        "advertisedRoutes": [],
        "tags": list(node.tags),
        "tailnetLockError": "",
        "tailnetLockKey": "tlpub:" + _hex(node, "tka"),
        "sshEnabled": False,
        "isEphemeral": False,
    }


def devices(
    tailnet: str, span: tuple[int, int], phase_two: bool, fields: str = "all"
) -> list[JsonDict]:
    """The devices as of `span = (start, now)`; `fields="default"` drops the extras."""
    start, now = span
    found = [_device(node, tailnet, start, now) for node in REPORTERS]
    found[1]["sshEnabled"] = phase_two  # TS-H-007 once phase two begins
    if phase_two:
        found[2]["tags"] = ["tag:ci", "tag:prod"]
    found[3]["advertisedRoutes"] = found[3]["enabledRoutes"] = ["0.0.0.0/0", "::/0"]
    dormant = _device(_DORMANT, tailnet, start, now)  # TS-H-012
    dormant |= {"lastSeen": stamp(now - 60 * _DAY), "connectedToControl": False}
    unauthorized = _device(_UNAUTHORIZED, tailnet, start, now) | {"authorized": False}  # TS-H-009
    outdated = _device(_OUTDATED, tailnet, start, now)  # TS-H-011
    outdated |= {"clientVersion": OLD_VERSION, "updateAvailable": True}
    locked = _device(_LOCK_ERROR, tailnet, start, now)  # TS-H-010
    locked["tailnetLockError"] = "tailnet lock: node key is not signed by a trusted key"
    external = _device(_EXTERNAL, tailnet, start, now)  # TS-H-008
    external |= {"isExternal": True, "created": stamp(start + 12 * _DAY), "tags": []}
    found += [dormant, unauthorized, outdated, locked, external]
    if not phase_two:
        found.append(_device(_TEMPORARY, tailnet, start, now))
    if fields != "all":
        found = [{k: v for k, v in d.items() if k not in ALL_ONLY_FIELDS} for d in found]
    return found


def users(tailnet: str, start: int, now: int) -> list[JsonDict]:
    """Two administrators seen for weeks and the newcomer of TS-H-001."""
    people = (
        ("uPLa1iceCNTRL", "alice@example.com", "Alice Admin", "admin", 400),
        ("uPLdanaCNTRL", "dana@example.com", "Dana Ops", "it-admin", 300),
        ("uPLma11oCNTRL", "mallory@example.com", "Mallory New", "admin", -11),
    )
    return [
        {
            "id": uid,
            "displayName": display,
            "loginName": login,
            "profilePicUrl": "",
            "tailnetId": tailnet,
            "created": stamp(start - days * _DAY),
            "type": "member",
            "role": role,
            "status": "active",
            "deviceCount": 1,
            "lastSeen": stamp(now - 3600 * NS_PER_SECOND),
            "currentlyConnected": False,
        }
        for uid, login, display, role, days in people
    ]


def _key(key_id: str, key_type: str, description: str, created: int) -> JsonDict:
    return {
        "id": key_id,
        "keyType": key_type,
        "description": description,
        "created": stamp(created),
        "updated": stamp(created),
        "invalid": False,
        "userId": "uPLdanaCNTRL",
    }


def _auth_key(key_id: str, start: int, *, reusable: bool) -> JsonDict:
    key = _key(key_id, "auth", "ci runners" if reusable else "one-off join", start + 4 * _DAY)
    key |= {"expirySeconds": 7776000, "expires": stamp(start + 94 * _DAY)}
    flags = {"reusable": reusable, "ephemeral": False, "preauthorized": False, "tags": []}
    key["capabilities"] = {"devices": {"create": flags}}
    return key


def keys(start: int) -> list[JsonDict]:
    """Keys: four reusable auth keys and one key that never expires (TS-H-004), one API
    token expiring in three days (TS-H-006), and keys that raise nothing."""
    found = [_auth_key("kPLok01CNTRL", start, reusable=False)]
    found += [_auth_key(f"kPLre{n:02d}CNTRL", start, reusable=True) for n in range(1, 5)]
    expiring = _key("kPLexp1CNTRL", "api", "dana laptop scripts", start - 13 * _DAY)
    expiring |= {"expirySeconds": 2592000, "expires": stamp(start + 17 * _DAY)}
    expiring["scopes"] = ["all"]
    forever = _key("kPLfor1CNTRL", "api", "legacy integration", start - 186 * _DAY)
    forever["scopes"] = ["devices:core:read"]
    client = _key("kPLcli1CNTRL", "client", "terraform-ci", start - 126 * _DAY)
    client |= {"scopes": ["all:read"], "tags": ["tag:ci"]}
    return [*found, expiring, forever, client]
