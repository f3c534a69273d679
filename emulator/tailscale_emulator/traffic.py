"""Network flow log bodies: the four traffic arrays a node reports for one sample."""

from __future__ import annotations

from typing import Any

from tailscale_emulator.hashing import MAX_U64, hash_of, mix
from tailscale_emulator.nodes import Node, make_node

JsonDict = dict[str, Any]

DERP_MAGIC_IP = "127.3.3.40"
MAGIC_DNS_IP = "100.100.100.100"
NETWORK_PERIOD = 61
_PORTS = (443, 443, 22, 80, 5432, 53, 3478, 0)


def _counts(h: int, huge_counters: bool = False) -> JsonDict:
    counts: JsonDict = {}
    tx_pkts = 1 + h % 60
    rx_pkts = 1 + (h >> 6) % 90
    tx_zero = (h >> 13) % 9 == 0
    rx_zero = not tx_zero and (h >> 17) % 5 == 0
    huge = (h >> 21) % 40
    if not tx_zero:
        counts["txPkts"] = tx_pkts
        counts["txBytes"] = tx_pkts * (60 + (h >> 27) % 1400)
    if not rx_zero:
        counts["rxPkts"] = rx_pkts
        counts["rxBytes"] = rx_pkts * (60 + (h >> 37) % 1400)
    # Counters are uint64 on the node, so values past 2**53 (and the maximum) can occur;
    # real tailnets rarely show them, so they come only with `huge_counters` (hard cases).
    if not huge_counters:
        return counts
    if huge == 0 and "txBytes" in counts:
        counts["txBytes"] = (1 << 53) + 1 + (h >> 30)
    elif huge == 1 and "rxBytes" in counts:
        counts["rxBytes"] = MAX_U64
    return counts


def _connection(kind: int, h: int, node: Node, peer: Node, huge: bool) -> JsonDict:
    port = _PORTS[(h >> 3) % len(_PORTS)]
    proto: Any = 1 if port == 0 else (17 if port in {53, 3478} else 6)
    if (h >> 9) % 10 == 0 and proto != 1:
        proto = "tcp" if proto == 6 else "udp"
    v6 = (h >> 15) % 4 == 0
    src_ip = f"[{node.ipv6}]" if v6 else node.ipv4
    sport = 0 if port == 0 else 32768 + (h >> 17) % 28000
    if kind == 0 and port == 53 and not v6:
        dst = f"{MAGIC_DNS_IP}:53"  # the resolver on every node, no device of the inventory
    elif kind == 0:
        dst = f"[{peer.ipv6}]:{port}" if v6 else f"{peer.ipv4}:{port}"
    elif kind == 1:
        dst = f"10.20.{(h >> 33) % 8}.{1 + (h >> 36) % 250}:{port}"
        src_ip = node.ipv4
    else:
        dst = f"[2606:4700::{(h >> 33) & 0xFFF:x}]:{port}" if v6 else f"198.51.100.7:{port}"
    conn: JsonDict = {"proto": proto, "src": f"{src_ip}:{sport}", "dst": dst}
    conn.update(_counts(mix(h), huge))
    return conn


def network_body(
    salt: int,
    tailnet: str,
    report: tuple[int, int],
    nodes: int,
    items: int,
    *,
    huge_counters: bool = False,
) -> JsonDict:
    """The traffic of node `k`'s report `r` (`report = (k, r)`), `items` connections long."""
    k, r = report
    node = make_node(salt, tailnet, k)
    h = hash_of(salt, k, r, 0x7E7)
    buckets: list[list[JsonDict]] = [[], [], [], []]
    for m in range(items):
        hm = hash_of(h, m)
        roll = hm % 20
        kind = 0 if roll < 10 else 1 if roll < 13 else 2 if roll < 16 else 3
        peer = make_node(salt, tailnet, (k + 1 + (hm >> 5) % max(nodes - 1, 1)) % max(nodes, 2))
        if kind == 3:
            # Underlay stats: `src` is the peer's Tailscale IP, `dst` where it was reached,
            # directly or through a DERP relay (the "port" of the marker is the region id).
            relayed = (hm >> 7) % 3 == 0
            dst = f"{DERP_MAGIC_IP}:{1 + (hm >> 9) % 12}" if relayed else peer.public
            conn: JsonDict = {"src": f"{peer.ipv4}:0", "dst": dst}
            conn.update(_counts(mix(hm), huge_counters))
        else:
            conn = _connection(kind, hm, node, peer, huge_counters)
        buckets[kind].append(conn)
    body: JsonDict = {}
    if (h >> 50) % 3 == 0:
        body["srcNode"] = node.info
        peers = [(k + 1 + d) % max(nodes, 2) for d in range(1 + (h >> 55) % 2)]
        body["dstNodes"] = [make_node(salt, tailnet, p).info for p in peers if p != k]
    for name, bucket in zip(
        ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic"), buckets, strict=True
    ):
        if bucket:
            body[name] = bucket
    return body
