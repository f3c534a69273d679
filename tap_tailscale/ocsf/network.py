"""`ocsf_network_activity`: one per-connection row as an OCSF 1.8.0 Network Activity event.

Class 4001, activity 6 Traffic (a traffic report for one sample window). The reporting
node is `device` (host profile); `src`/`dst` are mapped as logged, never swapped.
Per traffic kind (Tailscale KB 1219):

| kind     | direction_id | boundary_id | observation_point_id | peer identity on |
| -------- | ------------ | ----------- | -------------------- | ---------------- |
| virtual  | 3 Lateral    | 2 Internal  | 1 Source             | dst_endpoint     |
| subnet   | 3 Lateral    | 2 Internal  | 0 Unknown            | (unmapped only)  |
| exit     | 2 Outbound, 1 Inbound when only dst is set | 3 External | 3 Neither | (unmapped) |
| physical | 99 Other (underlay) | 99 Other | 1 Source        | src_endpoint     |

In virtual traffic the source is always the reporting node, so its identity goes on
`src_endpoint` too. Which side a subnet row's source is depends on the router, so peer
identity stays in `unmapped` there. A physical row's source is the peer's Tailscale IP
and its destination the underlay address; a DERP relay (`127.3.3.40:<region>`) becomes
`dst_endpoint.name = "derp-region-<n>"` without a port. Flow logs report no outcome, so
`status_id` is 0 Unknown and severity Informational.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from tap_tailscale.ocsf.common import (
    OCSF_VERSION,
    classification,
    drop_none,
    epoch_ms,
    product,
    severity,
    status,
)

NETWORK_STREAM_KEYS = ("event_uid", "tailnet", "logged")
LONG_MAX = 2**63 - 1
_DIRECTIONS = {1: "Inbound", 2: "Outbound", 3: "Lateral", 99: "Other"}
_BOUNDARIES = {2: "Internal", 3: "External", 99: "Other"}


class KindRule(NamedTuple):
    """How one traffic kind maps onto connection_info and the endpoints."""

    direction_id: int
    boundary_id: int
    observation_point_id: int
    node_on: str | None
    peer_on: str | None


KINDS = {
    "virtual": KindRule(3, 2, 1, "src_endpoint", "dst_endpoint"),
    "subnet": KindRule(3, 2, 0, None, None),
    "exit": KindRule(2, 3, 3, None, None),
    "physical": KindRule(99, 99, 1, None, "src_endpoint"),
}
_UNKNOWN_KIND = KindRule(0, 0, 0, None, None)


def _ip_version(*addresses: Any) -> int | None:
    for address in addresses:
        try:
            return ipaddress.ip_address(str(address)).version
        except ValueError:
            continue
    return None


def _version_sources(row: dict[str, Any]) -> tuple[Any, Any]:
    """The addresses that tell the IP version, best first.

    A physical item's source is the peer's Tailscale address (IPv4) while its destination
    is the underlay the packets really used, so the destination decides there.
    """
    if row.get("traffic_kind") == "physical":
        return row.get("dst_ip"), row.get("src_ip")
    return row.get("src_ip"), row.get("dst_ip")


def _endpoint(ip: Any, port: Any) -> dict[str, Any]:
    return drop_none({"ip": ip, "port": port if isinstance(port, int) and port > 0 else None})


def _identity(uid: Any, name: Any, tags: Any) -> dict[str, Any]:
    short = name.split(".", 1)[0] if isinstance(name, str) and name else None
    # A tagged node is owned by its tags (a service identity), not by a person.
    owner = (
        {"name": ", ".join(tags), "type_id": 4, "groups": [{"name": t} for t in tags]}
        if tags
        else None
    )
    return drop_none({"uid": uid, "hostname": name, "name": short, "owner": owner})


def _counter(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _traffic(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """OCSF traffic counters, and any that a signed 64-bit long cannot hold."""
    tx_b, rx_b = _counter(row.get("txBytes")), _counter(row.get("rxBytes"))
    tx_p, rx_p = _counter(row.get("txPkts")), _counter(row.get("rxPkts"))
    values = {
        "bytes_out": tx_b,
        "bytes_in": rx_b,
        "bytes": tx_b + rx_b,
        "packets_out": tx_p,
        "packets_in": rx_p,
        "packets": tx_p + rx_p,
    }
    too_big = {k: str(v) for k, v in values.items() if v > LONG_MAX}
    return {k: v for k, v in values.items() if k not in too_big}, too_big


def _endpoints(row: dict[str, Any], rule: KindRule) -> dict[str, Any]:
    ends = {
        "src_endpoint": _endpoint(row.get("src_ip"), row.get("src_port")),
        "dst_endpoint": _endpoint(row.get("dst_ip"), row.get("dst_port")),
    }
    if row.get("derp_region") is not None:
        ends["dst_endpoint"] = {
            **{k: v for k, v in ends["dst_endpoint"].items() if k != "port"},
            "name": f"derp-region-{row['derp_region']}",
        }
    if rule.node_on is not None:
        node = _identity(row.get("nodeId"), row.get("node_name"), row.get("node_tags"))
        ends[rule.node_on] = {**ends[rule.node_on], **node}
    if rule.peer_on is not None:
        peer = _identity(row.get("peer_node_id"), row.get("peer_name"), row.get("peer_tags"))
        ends[rule.peer_on] = {**ends[rule.peer_on], **peer}
    return {k: v for k, v in ends.items() if v}


def _connection_info(row: dict[str, Any], rule: KindRule) -> dict[str, Any]:
    direction = rule.direction_id
    if row.get("traffic_kind") == "exit" and not row.get("src_ip") and row.get("dst_ip"):
        direction = 1
    return drop_none(
        {
            "direction_id": direction,
            "direction": _DIRECTIONS.get(direction, "Unknown"),
            "boundary_id": rule.boundary_id,
            "boundary": _BOUNDARIES.get(rule.boundary_id, "Unknown"),
            "protocol_num": row.get("proto"),
            "protocol_name": row.get("proto_name"),
            "protocol_ver_id": _ip_version(*_version_sources(row)),
        }
    )


def _observables(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for side in ("src_endpoint", "dst_endpoint"):
        endpoint = event.get(side) or {}
        if endpoint.get("ip"):
            found.append({"name": f"{side}.ip", "type_id": 2, "value": endpoint["ip"]})
        if endpoint.get("hostname"):
            found.append({"name": f"{side}.hostname", "type_id": 1, "value": endpoint["hostname"]})
    return found


def _times(row: dict[str, Any]) -> dict[str, Any]:
    start, end = row.get("start"), row.get("end")
    times: dict[str, Any] = {"time": epoch_ms(start or row["logged"])}
    if start:
        times["start_time"] = times["time"]
    if end:
        times["end_time"] = epoch_ms(end)
        if start:
            times["duration"] = times["end_time"] - times["start_time"]
    return times


def ocsf_network_activity(connection: dict[str, Any]) -> dict[str, Any]:
    """The OCSF 1.8.0 Network Activity event (plus stream keys) for one connection row."""
    kind = connection.get("traffic_kind")
    rule = KINDS.get(str(kind), _UNKNOWN_KIND)
    traffic, too_big = _traffic(connection)
    metadata = drop_none(
        {
            "version": OCSF_VERSION,
            "product": product("Network flow logs"),
            "profiles": ["host"],
            "uid": connection["connection_id"],
            "correlation_uid": connection.get("flow_id"),
            "tenant_uid": connection.get("tailnet"),
            "event_code": f"{kind}Traffic" if kind else None,
            "logged_time": epoch_ms(connection["logged"]),
        }
    )
    event: dict[str, Any] = {
        **classification(4001, "Network Activity", 6, "Traffic"),
        **severity(1),
        **status(0),
        **_times(connection),
        "timezone_offset": 0,
        "metadata": metadata,
        "device": drop_none(
            {"type_id": 0, **_identity(connection.get("nodeId"), connection.get("node_name"), None)}
        ),
        **_endpoints(connection, rule),
        "connection_info": _connection_info(connection, rule),
        "traffic": traffic,
        "is_src_dst_assignment_known": False,
        "observation_point_id": rule.observation_point_id,
    }
    event["observables"] = _observables(event)
    event["unmapped"] = drop_none(
        {
            "traffic_kind": kind,
            "src": connection.get("src"),
            "dst": connection.get("dst"),
            "derp_region": connection.get("derp_region"),
            "node_tags": connection.get("node_tags"),
            "peer_node_id": connection.get("peer_node_id"),
            "peer_name": connection.get("peer_name"),
            "peer_tags": connection.get("peer_tags"),
            "traffic": too_big,
        }
    )
    keys = {
        "event_uid": connection["connection_id"],
        "tailnet": connection.get("tailnet"),
        "logged": connection["logged"],
    }
    return {**keys, **drop_none(event)}
