"""The emulated machines: node `k` of a tailnet, identical in logs and inventory."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from tailscale_emulator.hashing import hash_of, stable_id

JsonDict = dict[str, Any]

HOSTS = (
    "db-replica-1",
    "build-runner-3",
    "web-prod-2",
    "alice-laptop",
    "bob-phone",
    "gw-office",
    "k8s-node-7",
    "exit-fra",
    "zoe-desktop",
    "ci-ephemeral",
)
OSES = ("linux", "windows", "macOS", "iOS", "android", "freebsd")
USERS: tuple[tuple[str, str, str], ...] = (
    ("uAl1ce7CNTRL", "alice", "Alice Jones"),
    ("uB0b42xCNTRL", "bob", "Bob Smith"),
    ("uZo3m9kCNTRL", "zoe.muller", "Zoë Müller"),
    ("uQx7Lm2CNTRL", "dana.ops", "Dana Ops"),
    ("uC9m2RdCNTRL", "sam", "Sam O'Neil"),
)


@dataclass(frozen=True)
class Node:
    """One machine. `user` registered it; `info` is its flow-log `srcNode`/`dstNodes` form."""

    index: int
    hash: int
    node_id: str
    host: str
    fqdn: str
    ipv4: str
    ipv6: str
    public: str
    ephemeral: bool
    tags: tuple[str, ...]
    user: str
    os: str
    info: JsonDict


def domain_of(tailnet: str) -> str:
    """The e-mail domain of the tailnet's users."""
    return tailnet if "." in tailnet else "example.com"


def magic_suffix(salt: int) -> str:
    """The tailnet's MagicDNS domain."""
    return f"tail{salt & 0xFFFFF:05x}.ts.net"


@functools.lru_cache(maxsize=65536)
def make_node(salt: int, tailnet: str, k: int) -> Node:
    """Node `k` of the tailnet (reporting nodes in flow logs are `0 .. network_nodes-1`)."""
    h = hash_of(salt, k, 0x4E0DE)
    host = HOSTS[k % len(HOSTS)] + ("" if k < len(HOSTS) else f"-{k}")
    fqdn = f"{host}.{magic_suffix(salt)}"
    ipv4 = f"100.{64 + (h >> 8) % 64}.{(h >> 16) % 256}.{1 + k % 254}"
    ipv6 = f"fd7a:115c:a1e0::{(h >> 24) & 0xFFFF:x}:{k + 1:x}"
    public = (
        f"203.0.113.{1 + (h >> 40) % 254}:41641"
        if k % 3
        else f"[2001:db8::{(h >> 44) & 0xFFF:x}]:41641"
    )
    tags: tuple[str, ...] = ()
    user = f"{USERS[k % len(USERS)][1]}@{domain_of(tailnet)}"
    if k % 4 == 0:
        tags = ("tag:prod", "tag:db") if k % 8 == 0 else ("tag:ci",)
    info: JsonDict = {
        "nodeId": stable_id("n", h >> 2),
        "name": fqdn + ".",
        "addresses": [ipv4, ipv6],
        "os": OSES[k % len(OSES)],
    }
    if tags:
        info["tags"] = list(tags)
    else:
        info["user"] = user
    return Node(
        index=k,
        hash=h,
        node_id=info["nodeId"],
        host=host,
        fqdn=fqdn,
        ipv4=ipv4,
        ipv6=ipv6,
        public=public,
        ephemeral=k % 5 == 4,
        tags=tags,
        user=user,
        os=info["os"],
        info=info,
    )
