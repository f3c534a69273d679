"""One row per connection: each traffic item of a network_flow record, split and enriched.

A flow record holds four arrays of traffic items; warehouses want one row per item with
its addresses split into IP and port and both ends named. This runs once per traffic
item, so it avoids regexes and caches address parsing: a tailnet repeats a small set of
`ip:port` strings across millions of items.

Which side is which (KB1219): in virtual traffic `src` is always the reporting node and
`dst` its peer; in physical traffic `src` is the peer's Tailscale IP and `dst` where that
peer was reached (`127.3.3.40:<n>` = relayed through DERP region n); in subnet and exit
traffic the reporting node may be either side, so the peer is the side that is not it.
Enrichment comes from the run's devices snapshot; only the top-level `nodeId` is verified
by Tailscale.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th
from singer_sdk.typing import Property

from tap_tailscale.fields import COUNTER, TAILNET, TIMESTAMP
from tap_tailscale.inventory import DeviceIndex, DeviceRef, normalize_ip
from tap_tailscale.logs.records import TRAFFIC_KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping

# Kind labels in TRAFFIC_KINDS order: "virtualTraffic" -> "virtual".
_KINDS = tuple((field, field.removesuffix("Traffic")) for field in TRAFFIC_KINDS)
DERP_MAGIC_IP = "127.3.3.40"  # tailcfg.DerpMagicIP: the "port" is a DERP region id

# IANA keywords as Tailscale's ipproto package writes them, plus its internal meanings:
# 99 is TSMP (Tailscale's node-to-node messages), 255 a non-first IP fragment.
PROTO_NAMES: dict[int, str] = {
    1: "icmp",
    2: "igmp",
    4: "ipv4",
    6: "tcp",
    8: "egp",
    9: "igp",
    17: "udp",
    33: "dccp",
    41: "ipv6",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "ipv6-icmp",
    99: "tsmp",
    132: "sctp",
    255: "fragment",
}
# Names the API may send instead of numbers (its spec says names), with Tailscale's aliases.
_PROTO_NUMBERS: dict[str, int] = {
    **{name: number for number, name in PROTO_NAMES.items()},
    "icmpv4": 1,
    "icmpv6": 58,
    "ip-in-ip": 4,
    "frag": 255,
}

_EMPTY_DIGEST = blake2b(digest_size=16)

_Address = tuple[str | None, int | None]
_NO_ADDRESS: _Address = (None, None)
_address_cache: dict[str, _Address] = {}
_ADDRESS_CACHE_LIMIT = 1 << 16


def split_address(text: Any) -> tuple[str | None, int | None]:
    """`ip:port` or `[ipv6]:port` as (normalized IP, port); a part that is absent or not
    an IP or port is None. A bare address (no port) is accepted."""
    if type(text) is not str:
        return _NO_ADDRESS
    hit = _address_cache.get(text)
    if hit is None:
        if len(_address_cache) >= _ADDRESS_CACHE_LIMIT:
            _address_cache.clear()
        hit = _address_cache[text] = _split(text)
    return hit


def _split(text: str) -> _Address:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, colon, port = text.rpartition(":")
        if not colon or ":" in host:  # no port, or a bare IPv6 address
            host, port = text, ""
    number = int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None
    # `:0` is how the API writes "no port" (ICMP, TSMP, every physical source).
    return normalize_ip(host), number if number is not None and 0 < number <= 65535 else None


def protocol(value: Any) -> tuple[int | None, str | None]:
    """(number, name) of a `proto` sent as a number or a name; an unknown name is kept
    as the name, with no number."""
    if type(value) is int:
        return value, PROTO_NAMES.get(value)
    if type(value) is not str:
        return None, None
    key = value.strip().lower()
    number = _PROTO_NUMBERS.get(key)
    if number is None and key.isascii() and key.isdigit():
        number = int(key)
    if number is None:
        return None, value
    return number, PROTO_NAMES.get(number)


def _peer(kind: str, node_id: Any, src: DeviceRef | None, dst: DeviceRef | None) -> Any:
    if kind == "virtual":
        return dst
    if kind == "physical":
        return src
    if src is not None and src.node_id == node_id:
        return dst
    if dst is not None and dst.node_id == node_id:
        return src
    # Neither side is known to be the reporting node: one known device is the peer,
    # two would be a guess.
    return src if dst is None else dst if src is None else None


def connection_rows(flow: Mapping[str, Any], index: DeviceIndex | None) -> list[dict[str, Any]]:
    """One `network_connection` row per traffic item of a `network_flow` record
    (records.network_record's output), in array order."""
    get = flow.get
    flow_id = flow["flow_id"]
    node_id = get("nodeId")
    head = {
        "flow_id": flow_id,
        "tailnet": get("tailnet"),
        "nodeId": node_id,
        "logged": get("logged"),
        "start": get("start"),
        "end": get("end"),
    }
    node = index.node(node_id) if index is not None else None
    head["node_name"], head["node_tags"] = (node.name, node.tags) if node else (None, None)
    return [
        _row(item, kind, position, head, index)
        for field, kind in _KINDS
        for position, item in enumerate(get(field) or ())
    ]


def _row(
    item: Mapping[str, Any],
    kind: str,
    position: int,
    head: dict[str, Any],
    index: DeviceIndex | None,
) -> dict[str, Any]:
    get = item.get
    raw_proto, src, dst = get("proto"), get("src"), get("dst")
    counts = (get("txPkts") or 0, get("txBytes") or 0, get("rxPkts") or 0, get("rxBytes") or 0)
    src_ip, src_port = split_address(src)
    dst_ip, dst_port = split_address(dst)
    derp_region = None
    if kind == "physical" and dst_ip == DERP_MAGIC_IP:
        derp_region, dst_port = dst_port, None
    proto, proto_name = protocol(raw_proto)
    peer = None
    if index is not None:
        peer = _peer(kind, head["nodeId"], index.ip(src_ip), index.ip(dst_ip))
    # The flow key, kind and position make the key unique; the content ties it to the
    # item, so a re-sent report that changed keeps no stale key. `!r` tells 6 from "6".
    digest = _EMPTY_DIGEST.copy()  # cheaper than a new object with parameters
    digest.update(
        f"{head['flow_id']}|{kind}|{position}|{raw_proto!r}|{src}|{dst}|{counts}".encode()
    )
    return {
        "connection_id": digest.hexdigest(),
        "flow_id": head["flow_id"],
        "tailnet": head["tailnet"],
        "nodeId": head["nodeId"],
        "logged": head["logged"],
        "start": head["start"],
        "end": head["end"],
        "traffic_kind": kind,
        "proto": proto,
        "proto_name": proto_name,
        "src": src,
        "dst": dst,
        "src_ip": src_ip,
        "src_port": src_port,
        "dst_ip": dst_ip,
        "dst_port": dst_port,
        "derp_region": derp_region,
        "txPkts": counts[0],
        "txBytes": counts[1],
        "rxPkts": counts[2],
        "rxBytes": counts[3],
        "node_name": head["node_name"],
        "node_tags": head["node_tags"],
        "peer_node_id": peer.node_id if peer else None,
        "peer_name": peer.name if peer else None,
        "peer_tags": peer.tags if peer else None,
    }


_TAGS = th.ArrayType(th.StringType)
# Counters are u64. As top-level columns an integer type becomes BIGINT (63 bits) in
# target-postgres and fails on the largest values; a whole `number` becomes NUMERIC there,
# exact at any size (DuckDB stores it as DOUBLE).
_WIDE_COUNTER = th.CustomType(
    {"type": ["number"], "minimum": 0, "maximum": COUNTER.type_dict["maximum"], "multipleOf": 1}
)

NETWORK_CONNECTION = th.PropertiesList(
    Property(
        "connection_id",
        th.StringType,
        required=True,
        description="Deterministic key: the flow's key, traffic kind, position and content.",
    ),
    Property("flow_id", th.StringType, required=True, description="Key of the network_flow."),
    TAILNET,
    Property("nodeId", th.StringType, description="Reporting node (verified by Tailscale)."),
    Property("logged", TIMESTAMP, required=True, description="As in network_flow."),
    Property("start", TIMESTAMP),
    Property("end", TIMESTAMP),
    Property("traffic_kind", th.StringType, description="virtual, subnet, exit or physical."),
    Property("proto", th.IntegerType, description="IANA protocol number; null if none sent."),
    Property("proto_name", th.StringType, description="tcp, udp, icmp, ...; 99 is tsmp."),
    Property("src", th.StringType, description="As sent: `ip:port` or `[ipv6]:port`."),
    Property("dst", th.StringType, description="As sent."),
    Property("src_ip", th.StringType),
    Property(
        "src_port",
        th.IntegerType,
        description="Null when the address has no port (the API writes `:0` for none).",
    ),
    Property("dst_ip", th.StringType),
    Property("dst_port", th.IntegerType, description="Null for DERP relays (see derp_region)."),
    Property(
        "derp_region",
        th.IntegerType,
        description="Physical traffic relayed via DERP (dst 127.3.3.40:<n>): region n.",
    ),
    *(
        Property(counter, _WIDE_COUNTER, required=True, description="0 when the API omitted it.")
        for counter in ("txPkts", "txBytes", "rxPkts", "rxBytes")
    ),
    Property("node_name", th.StringType, description="Reporting node's name (devices snapshot)."),
    Property("node_tags", _TAGS),
    Property("peer_node_id", th.StringType, description="Null unless the peer IP is a device."),
    Property("peer_name", th.StringType),
    Property("peer_tags", _TAGS),
).to_dict()
