"""The tailnet's inventory: devices, users, keys and DNS, shaped as the API returns them.

Devices are the same nodes the flow logs name (same `nodeId` and addresses), except that
the last `deleted_nodes` reporting nodes are gone from the inventory (flows from deleted
devices), `idle_devices` more devices never report, and `external_devices` are shared in
from another tailnet. Timestamps count back from the dataset's end, so a snapshot is
deterministic for a given configuration.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tailscale_emulator.nodes import USERS, Node, domain_of, make_node
from tailscale_emulator.timefmt import NS_PER_SECOND, ZERO_TIME, second_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tailscale_emulator.dataset import TailnetConfig

JsonDict = dict[str, Any]

# Fields only `fields=all` returns (the rest is the `default` set).
ALL_ONLY_FIELDS = frozenset(
    {
        "enabledRoutes",
        "advertisedRoutes",
        "clientConnectivity",
        "sshEnabled",
        "postureIdentity",
        "distro",
        "multipleConnections",
    }
)
USER_TYPES = ("member", "shared")
USER_ROLES = ("owner", "member", "admin", "it-admin", "network-admin", "billing-admin", "auditor")
_DAY = 86400
_EXTERNAL_BASE = 250  # node numbers of shared-in devices: far from the reporting nodes
_VERSIONS = ("1.92.3-t1a2b3c4d5-g6e7f8a9b0", "1.90.6-t0f1e2d3c4-gb5a6978877", "1.88.1-t9e8d7c6b5")
# (id, login, display name, role, status); members come first, then the shared user.
_ROLES = ("admin", "member", "it-admin", "owner", "auditor")
_MORE_MEMBERS = (
    ("uLe3pK8CNTRL", "lee", "Lee Park", "member", "suspended"),
    ("uNw5Ad9CNTRL", "nadia", "Nadia Wren", "network-admin", "needs-approval"),
)
_SHARED = ("uB3nS8kCNTRL", "partner@vendor.example", "Vendor Partner", "member", "idle")
_OWNER_ID = "uQx7Lm2CNTRL"


def stamp(ns: int) -> str:
    """Whole-second RFC 3339, as the inventory endpoints write times."""
    return second_prefix(ns // NS_PER_SECOND) + "Z"


def _hex(node_id: str, label: str) -> str:
    return hashlib.sha256(f"{label}:{node_id}".encode()).hexdigest()


def node_numbers(cfg: TailnetConfig) -> list[int]:
    """The node numbers of the tailnet's own devices, in list order (a few ints each)."""
    universe = max(cfg.network_nodes, 2)  # peers are drawn from this many nodes
    kept = max(1, universe - max(cfg.deleted_nodes, 0))
    idle = max(cfg.idle_devices, 0)
    if cfg.inventory_devices is not None:  # a total: idle devices make up the rest
        idle = max(cfg.inventory_devices - kept - max(cfg.external_devices, 0), 0)
    return [*range(kept), *range(universe, universe + idle)]


def inventory_nodes(salt: int, tailnet: str, cfg: TailnetConfig) -> list[Node]:
    """The tailnet's own devices, in node order (external devices excluded)."""
    return [make_node(salt, tailnet, k) for k in node_numbers(cfg)]


def deleted_nodes(salt: int, tailnet: str, cfg: TailnetConfig) -> list[Node]:
    """Nodes that appear in flow logs but no longer in the inventory."""
    universe = max(cfg.network_nodes, 2)
    kept = max(1, universe - max(cfg.deleted_nodes, 0))
    return [make_node(salt, tailnet, k) for k in range(kept, universe)]


def _connectivity(node: Node) -> JsonDict:
    h = node.hash
    latency: JsonDict = {"Frankfurt": {"latencyMs": 9.0 + h % 40 / 4}}
    if h % 3:
        latency["London"] = {"latencyMs": 14.0 + (h >> 4) % 40 / 4}
    preferred = "London" if "London" in latency and h % 2 else "Frankfurt"
    latency[preferred]["preferred"] = True
    return {
        "endpoints": [node.public, f"192.168.{node.index % 250}.{10 + node.index % 200}:41641"],
        "derp": "",
        "mappingVariesByDestIP": (h >> 6) % 5 == 0,
        "latency": latency,
        "clientSupports": {
            "hairPinning": None,
            "ipv6": (h >> 7) % 2 == 0,
            "pcp": False,
            "pmp": (h >> 8) % 3 == 0,
            "udp": True,
            "upnp": (h >> 9) % 2 == 0,
        },
    }


def _routes(node: Node) -> tuple[list[str], list[str]]:
    """(advertised, enabled): node 1, 6, ... route the 10.20/16 subnet the flows reach."""
    if node.index % 5 == 1:
        return ["10.20.0.0/16", "10.30.0.0/16"], ["10.20.0.0/16"]
    if node.index % 5 == 2:
        return ["0.0.0.0/0", "::/0"], ["0.0.0.0/0", "::/0"]
    return [], []


def _device(node: Node, now_ns: int) -> JsonDict:
    h = node.hash
    created = now_ns - (30 + h % 300) * _DAY * NS_PER_SECOND
    connected = (h >> 3) % 3 != 0
    expiry_disabled = bool(node.tags)
    advertised, enabled = _routes(node)
    device: JsonDict = {
        "addresses": [node.ipv4, node.ipv6],
        "id": str(10**16 + h % (9 * 10**16)),
        "nodeId": node.node_id,
        "user": node.user,
        "name": node.fqdn,
        "hostname": node.host,
        "clientVersion": _VERSIONS[h % len(_VERSIONS)],
        "updateAvailable": h % len(_VERSIONS) != 0,
        "os": node.os,
        "created": stamp(created),
        "connectedToControl": connected,
    }
    if not connected:
        device["lastSeen"] = stamp(now_ns - (60 + (h >> 5) % _DAY) * NS_PER_SECOND)
    device |= {
        "keyExpiryDisabled": expiry_disabled,
        "expires": ZERO_TIME if expiry_disabled else stamp(created + 180 * _DAY * NS_PER_SECOND),
        "authorized": True,
        "isExternal": False,
    }
    if node.index % 4 == 1:  # present only while two clients share a node key
        device["multipleConnections"] = True
    device |= {
        "machineKey": "mkey:" + _hex(node.node_id, "machine"),
        "nodeKey": "nodekey:" + _hex(node.node_id, "node"),
        "blocksIncomingConnections": (h >> 13) % 9 == 0,
        "enabledRoutes": enabled,
        "advertisedRoutes": advertised,
        "clientConnectivity": _connectivity(node),
        "tags": list(node.tags),
        "tailnetLockError": "",
        "tailnetLockKey": "tlpub:" + _hex(node.node_id, "tka"),
        "sshEnabled": node.os == "linux",
        "postureIdentity": (
            {"serialNumbers": [_hex(node.node_id, "serial")[:12].upper()]}
            if node.os in {"macOS", "windows"}
            else {"disabled": True}
        ),
        "isEphemeral": node.ephemeral,
    }
    if node.os == "linux":
        device["distro"] = {"name": "ubuntu", "version": "24.04", "codeName": "noble"}
    return device


def external_base(cfg: TailnetConfig) -> int:
    """The node number of the first shared-in device: past every own device."""
    return max(_EXTERNAL_BASE, max(node_numbers(cfg), default=0) + 1)


def _external_device(salt: int, tailnet: str, j: int, now_ns: int, base: int) -> JsonDict:
    """A device shared in from another tailnet: the API leaves most fields empty."""
    node = make_node(salt, tailnet, base + j)
    host = f"vendor-jump-{j}" if j else "vendor-jump"
    return {
        "addresses": [node.ipv4, node.ipv6],
        "id": str(50052 + j),
        "nodeId": node.node_id,
        "user": _SHARED[1],
        "name": f"{host}.tail4c2e1.ts.net",
        "hostname": host,
        "clientVersion": "",
        "updateAvailable": False,
        "os": "linux",
        "created": "",
        "connectedToControl": False,
        "lastSeen": stamp(now_ns - (2 + j) * _DAY * NS_PER_SECOND),
        "keyExpiryDisabled": True,
        "expires": ZERO_TIME,
        "authorized": True,
        "isExternal": True,
        "machineKey": "",
        "nodeKey": "nodekey:" + _hex(node.node_id, "node"),
        "blocksIncomingConnections": False,
        "tags": [],
        "tailnetLockError": "",
        "tailnetLockKey": "",
        "isEphemeral": False,
    }


def device_at(
    salt: int,
    tailnet: str,
    cfg: TailnetConfig,
    place: tuple[bool, int],
    *,
    now_ns: int,
    fields: str,
) -> JsonDict:
    """One device by its place: (external, number) as `device_places` gives it."""
    external, number = place
    if external:
        found = _external_device(salt, tailnet, number, now_ns, external_base(cfg))
    else:
        found = _device(make_node(salt, tailnet, number), now_ns)
    if fields == "all":
        return found
    return {k: v for k, v in found.items() if k not in ALL_ONLY_FIELDS}


def device_places(cfg: TailnetConfig) -> Iterator[tuple[bool, int]]:
    """Where each listed device comes from, in list order: own nodes, then shared-in ones."""
    for k in node_numbers(cfg):
        yield False, k
    for j in range(max(cfg.external_devices, 0)):
        yield True, j


def iter_devices(
    salt: int, tailnet: str, cfg: TailnetConfig, now_ns: int, fields: str
) -> Iterator[JsonDict]:
    """`GET /tailnet/{tailnet}/devices?fields=<fields>`, unfiltered, made one at a time."""
    for place in device_places(cfg):
        yield device_at(salt, tailnet, cfg, place, now_ns=now_ns, fields=fields)


def devices(
    salt: int, tailnet: str, cfg: TailnetConfig, now_ns: int, fields: str
) -> list[JsonDict]:
    """`GET /tailnet/{tailnet}/devices?fields=<fields>` (`all` or `default`), unfiltered."""
    return list(iter_devices(salt, tailnet, cfg, now_ns, fields))


def users(device_list: list[JsonDict], tailnet: str, now_ns: int) -> list[JsonDict]:
    """Every user (members and shared) with device counts taken from `device_list`."""
    domain = domain_of(tailnet)
    people = [
        (uid, f"{login}@{domain}", name, _ROLES[n], "active")
        for n, (uid, login, name) in enumerate(USERS)
    ]
    people += [
        (uid, f"{login}@{domain}", name, role, st) for uid, login, name, role, st in _MORE_MEMBERS
    ]
    people.append(_SHARED)
    found = []
    for n, (uid, login, name, role, status) in enumerate(people):
        owned = [d for d in device_list if d["user"] == login and not d["tags"]]
        online = any(d["connectedToControl"] for d in owned)
        seen_ago = 300 if online else (2 + n * 11) * _DAY if status == "idle" else 3600 * (n + 1)
        found.append(
            {
                "id": uid,
                "displayName": name,
                "loginName": login,
                "profilePicUrl": "",
                "tailnetId": tailnet,
                "created": stamp(now_ns - (100 + n * 37) * _DAY * NS_PER_SECOND),
                "type": "shared" if uid == _SHARED[0] else "member",
                "role": role,
                "status": status,
                "deviceCount": len(owned),
                "lastSeen": stamp(now_ns - seen_ago * NS_PER_SECOND),
                "currentlyConnected": online,
            }
        )
    return found


def keys(tailnet: str, now_ns: int) -> list[JsonDict]:
    """`GET /tailnet/{tailnet}/keys?all=true`: one key of each kind, never a secret."""

    def ago(days: int) -> int:
        return now_ns - days * _DAY * NS_PER_SECOND

    def common(key_id: str, key_type: str, description: str, created: int) -> JsonDict:
        return {
            "id": key_id,
            "keyType": key_type,
            "description": description,
            "created": stamp(created),
            "updated": stamp(created),
        }

    auth = common("kA1b2C3dCNTRL", "auth", "ci runners", ago(20))
    auth |= {"expirySeconds": 7776000, "expires": stamp(ago(20 - 90)), "invalid": False}
    auth["capabilities"] = {
        "devices": {
            "create": {
                "reusable": True,
                "ephemeral": True,
                "preauthorized": True,
                "tags": ["tag:ci"],
            }
        }
    }
    auth["userId"] = _OWNER_ID
    minted = common("kQ4r7TnbCNTRL", "auth", "minted by terraform-ci", ago(1))
    minted |= {"expirySeconds": 3600, "expires": stamp(ago(1) + 3600 * NS_PER_SECOND)}
    minted |= {"invalid": False, "capabilities": auth["capabilities"], "userId": ""}
    api = common("kX9y8Z7wCNTRL", "api", "dana laptop scripts", ago(8))
    api |= {"expirySeconds": 2592000, "expires": stamp(ago(8 - 30)), "invalid": False}
    api |= {"scopes": ["all"], "userId": _OWNER_ID}
    client = common("kTf39CrCNTRL", "client", "terraform-ci", ago(140))
    client["updated"] = stamp(ago(50))
    client |= {"invalid": False, "scopes": ["devices:core", "policy_file", "all:read"]}
    client |= {"tags": ["tag:ci"], "userId": _OWNER_ID}
    federated = common("kFd2Gh5jCNTRL", "federated", "github actions deploy", ago(5))
    federated |= {"invalid": False, "scopes": ["auth_keys"], "tags": ["tag:deploy"]}
    federated |= {
        "audience": f"api.tailscale.com/{tailnet}-kFd2Gh5jCNTRL",
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:example/infra:ref:refs/heads/main",
        "customClaimRules": {"repository_owner": "example"},
        "userId": _OWNER_ID,
    }
    return [auth, minted, api, client, federated]


KEY_OWNER_ID = _OWNER_ID  # the user every emulator API key belongs to


def dns(tailnet: str) -> dict[str, Any]:
    """The DNS endpoints' bodies by path tail (`nameservers`, `split-dns`, ...)."""
    domain = domain_of(tailnet)
    nameservers = ["1.1.1.1", "2606:4700:4700::1111"]
    split: dict[str, list[str] | None] = {
        f"corp.{domain}": ["10.20.0.53", "10.20.1.53"],
        f"lab.{domain}": None,
    }
    search = [f"corp.{domain}"]
    return {
        "nameservers": {"dns": nameservers},
        "preferences": {"magicDNS": True},
        "searchpaths": {"searchPaths": search},
        "split-dns": split,
        "configuration": {
            "nameservers": [
                {"address": a, "useWithExitNode": n == 0} for n, a in enumerate(nameservers)
            ],
            "splitDNS": {
                d: None if s is None else [{"address": a, "useWithExitNode": False} for a in s]
                for d, s in split.items()
            },
            "searchPaths": search,
            "preferences": {"overrideLocalDNS": True, "magicDNS": True},
        },
    }
