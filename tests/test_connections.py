"""connection_rows: one row per traffic item, split addresses, protocols, DERP, enrichment."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tap_tailscale.inventory import DeviceIndex
from tap_tailscale.logs.connections import (
    NETWORK_CONNECTION,
    connection_rows,
    protocol,
    split_address,
)
from tap_tailscale.logs.records import TRAFFIC_KINDS, network_record

ROUTER = "nR7tW2xL9CNTRL"  # subnet router and exit node
LAPTOP = "nK4v8QzP2CNTRL"
DEVICES = [
    {
        "nodeId": LAPTOP,
        "name": "dana-mbp.tail4c2e1.ts.net",
        "tags": [],
        "addresses": ["100.101.34.7", "fd7a:115c:a1e0::9f01:2207"],
    },
    {
        "nodeId": ROUTER,
        "name": "edge-router-1.tail4c2e1.ts.net",
        "tags": ["tag:router", "tag:exit"],
        "addresses": ["100.88.12.40", "fd7a:115c:a1e0::e601:c28"],
    },
]
EXTERNAL_IP = "100.99.1.1"  # a peer that is in no devices snapshot


def _flow(node_id: str = LAPTOP, **traffic: list[dict[str, Any]]) -> dict[str, Any]:
    entry = {
        "logged": "2025-03-04T09:30:06.412985Z",
        "nodeId": node_id,
        "start": "2025-03-04T09:30:00.117342905Z",
        "end": "2025-03-04T09:30:05.120881311Z",
        **traffic,
    }
    return network_record(entry, "example.com")


@pytest.fixture
def index() -> DeviceIndex:
    return DeviceIndex(DEVICES)


def _one(flow: dict[str, Any], index: DeviceIndex | None) -> dict[str, Any]:
    (row,) = connection_rows(flow, index)
    return row


def test_one_row_per_traffic_item_in_array_order(index: DeviceIndex) -> None:
    flow = _flow(
        virtualTraffic=[
            {"proto": 6, "src": "100.101.34.7:51544", "dst": "100.88.12.40:443", "txBytes": 9},
            {"proto": 17, "src": "100.101.34.7:40112", "dst": "100.100.100.100:53"},
        ],
        subnetTraffic=[{"proto": 6, "src": "100.101.34.7:60222", "dst": "10.20.0.15:5432"}],
        exitTraffic=[{"src": "100.101.34.7"}, {"dst": "100.101.34.7"}],
        physicalTraffic=[{"src": "100.88.12.40:0", "dst": "203.0.113.45:41641"}],
    )
    rows = connection_rows(flow, index)
    assert len(rows) == sum(len(flow[kind]) for kind in TRAFFIC_KINDS) == 6
    assert [row["traffic_kind"] for row in rows] == [
        "virtual",
        "virtual",
        "subnet",
        "exit",
        "exit",
        "physical",
    ]
    for row in rows:
        for field in ("flow_id", "tailnet", "nodeId", "logged", "start", "end"):
            assert row[field] == flow[field]
    assert [row["dst_port"] for row in rows[:3]] == [443, 53, 5432]


def test_rows_have_exactly_the_schema_fields_and_validate(index: DeviceIndex) -> None:
    flow = _flow(
        virtualTraffic=[{"proto": "tcp", "src": "100.101.34.7:1", "dst": "100.88.12.40:2"}],
        physicalTraffic=[{"src": "100.88.12.40:0", "dst": "127.3.3.40:4", "rxBytes": 2**64 - 1}],
    )
    validator = Draft202012Validator(NETWORK_CONNECTION)
    for row in connection_rows(flow, index) + connection_rows(flow, None):
        assert list(row) == list(NETWORK_CONNECTION["properties"])
        validator.validate(row)


def test_no_traffic_gives_no_rows() -> None:
    assert connection_rows(_flow(), None) == []


def test_omitted_counters_are_zero_and_u64_values_are_kept() -> None:
    row = _one(_flow(virtualTraffic=[{"txBytes": 2**64 - 1}]), None)
    assert (row["txPkts"], row["txBytes"], row["rxPkts"], row["rxBytes"]) == (0, 2**64 - 1, 0, 0)
    assert row["src"] is row["src_ip"] is row["src_port"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100.101.34.7:51544", ("100.101.34.7", 51544)),
        ("100.101.34.7:0", ("100.101.34.7", None)),  # `:0` is "no port"
        ("100.101.34.7", ("100.101.34.7", None)),
        ("[fd7a:115c:a1e0::9f01:2207]:443", ("fd7a:115c:a1e0::9f01:2207", 443)),
        ("[FD7A:115C:A1E0:0:0:0:9F01:2207]:443", ("fd7a:115c:a1e0::9f01:2207", 443)),
        ("[2001:db8::1c]", ("2001:db8::1c", None)),
        ("fd7a:115c:a1e0::1", ("fd7a:115c:a1e0::1", None)),
        ("[fe80::1%eth0]:22", ("fe80::1%eth0", 22)),
        ("100.101.34.7:99999", ("100.101.34.7", None)),
        ("100.101.34.7:http", ("100.101.34.7", None)),
        ("host.example:80", (None, 80)),
        ("", (None, None)),
        (None, (None, None)),
        (12, (None, None)),
    ],
)
def test_split_address(text: Any, expected: tuple[str | None, int | None]) -> None:
    assert split_address(text) == expected
    assert split_address(text) == expected  # the cached answer too


def test_ipv6_rows_keep_src_and_dst_as_sent() -> None:
    item = {"proto": 6, "src": "[FD7A:115C:A1E0::9F01:2207]:5000", "dst": "[fd7a::2]:22"}
    row = _one(_flow(virtualTraffic=[item]), None)
    assert (row["src"], row["dst"]) == (item["src"], item["dst"])
    assert (row["src_ip"], row["src_port"]) == ("fd7a:115c:a1e0::9f01:2207", 5000)
    assert (row["dst_ip"], row["dst_port"]) == ("fd7a::2", 22)


def test_physical_derp_destination_is_a_region_not_a_port() -> None:
    row = _one(_flow(physicalTraffic=[{"src": "100.88.12.40:0", "dst": "127.3.3.40:12"}]), None)
    assert (row["dst_ip"], row["dst_port"], row["derp_region"]) == ("127.3.3.40", None, 12)
    assert row["dst"] == "127.3.3.40:12"
    direct = _one(_flow(physicalTraffic=[{"dst": "203.0.113.45:41641"}]), None)
    assert (direct["dst_port"], direct["derp_region"]) == (41641, None)


def test_derp_marker_counts_only_in_physical_traffic() -> None:
    row = _one(_flow(virtualTraffic=[{"dst": "127.3.3.40:12"}]), None)
    assert (row["dst_port"], row["derp_region"]) == (12, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6, (6, "tcp")),
        (17, (17, "udp")),
        (1, (1, "icmp")),
        (58, (58, "ipv6-icmp")),
        (132, (132, "sctp")),
        (99, (99, "tsmp")),
        (255, (255, "fragment")),
        (200, (200, None)),
        ("tcp", (6, "tcp")),
        ("TCP", (6, "tcp")),
        ("icmpv6", (58, "ipv6-icmp")),
        ("tsmp", (99, "tsmp")),
        ("17", (17, "udp")),
        ("quic-ish", (None, "quic-ish")),
        (None, (None, None)),
        (True, (None, None)),
    ],
)
def test_protocol(value: Any, expected: tuple[int | None, str | None]) -> None:
    assert protocol(value) == expected


def test_row_protocol_from_a_name_and_absent_on_physical() -> None:
    flow = _flow(virtualTraffic=[{"proto": "udp"}], physicalTraffic=[{"dst": "1.2.3.4:5"}])
    virtual, physical = connection_rows(flow, None)
    assert (virtual["proto"], virtual["proto_name"]) == (17, "udp")
    assert (physical["proto"], physical["proto_name"]) == (None, None)


def test_connection_ids_are_deterministic_and_distinct() -> None:
    item = {"proto": 6, "src": "100.101.34.7:1", "dst": "100.88.12.40:2", "txBytes": 5}
    flow = _flow(virtualTraffic=[item, dict(item)], subnetTraffic=[dict(item)])
    ids = [row["connection_id"] for row in connection_rows(flow, None)]
    assert len(set(ids)) == 3  # same content, other position or kind: another key
    again = [row["connection_id"] for row in connection_rows(copy.deepcopy(flow), None)]
    assert again == ids
    with_index = [row["connection_id"] for row in connection_rows(flow, DeviceIndex(DEVICES))]
    assert with_index == ids  # enrichment never changes a key
    other_flow = dict(flow, flow_id="another")
    assert connection_rows(other_flow, None)[0]["connection_id"] != ids[0]
    changed = _flow(virtualTraffic=[dict(item, txBytes=6), item], subnetTraffic=[item])
    assert connection_rows(changed, None)[0]["connection_id"] != ids[0]
    as_text = _flow(virtualTraffic=[dict(item, proto="6"), item], subnetTraffic=[item])
    assert connection_rows(as_text, None)[0]["connection_id"] != ids[0]


def test_virtual_peer_is_the_destination(index: DeviceIndex) -> None:
    row = _one(_flow(virtualTraffic=[{"src": "100.101.34.7:1", "dst": "100.88.12.40:2"}]), index)
    assert (row["node_name"], row["node_tags"]) == ("dana-mbp.tail4c2e1.ts.net", [])
    assert (row["peer_node_id"], row["peer_name"]) == (ROUTER, "edge-router-1.tail4c2e1.ts.net")
    assert row["peer_tags"] == ["tag:router", "tag:exit"]


def test_ipv6_peer_matches_the_device_whatever_its_spelling(index: DeviceIndex) -> None:
    item = {"src": "[fd7a:115c:a1e0::9f01:2207]:1", "dst": "[FD7A:115C:A1E0:0::E601:C28]:2"}
    assert _one(_flow(virtualTraffic=[item]), index)["peer_node_id"] == ROUTER


def test_physical_peer_is_the_source(index: DeviceIndex) -> None:
    row = _one(_flow(physicalTraffic=[{"src": "100.88.12.40:0", "dst": "127.3.3.40:3"}]), index)
    assert row["peer_node_id"] == ROUTER


def test_subnet_peer_on_the_router_side_and_none_on_the_client_side(index: DeviceIndex) -> None:
    router_side = {"proto": 6, "src": "10.20.0.15:5432", "dst": "100.101.34.7:60222"}
    row = _one(_flow(ROUTER, subnetTraffic=[router_side]), index)
    assert (row["node_name"], row["peer_node_id"]) == ("edge-router-1.tail4c2e1.ts.net", LAPTOP)
    client_side = {"proto": 6, "src": "100.101.34.7:60222", "dst": "10.20.0.15:5432"}
    row = _one(_flow(LAPTOP, subnetTraffic=[client_side]), index)
    assert row["peer_node_id"] is row["peer_name"] is row["peer_tags"] is None


def test_exit_peer_is_the_client_on_either_side(index: DeviceIndex) -> None:
    flow = _flow(ROUTER, exitTraffic=[{"src": "100.101.34.7"}, {"dst": "100.101.34.7"}])
    assert [row["peer_node_id"] for row in connection_rows(flow, index)] == [LAPTOP, LAPTOP]


def test_unknown_peers_and_unknown_nodes_get_nulls(index: DeviceIndex) -> None:
    external = {"src": "100.101.34.7:1", "dst": f"{EXTERNAL_IP}:2"}
    row = _one(_flow(virtualTraffic=[external]), index)
    assert row["node_name"] == "dana-mbp.tail4c2e1.ts.net"
    assert row["peer_node_id"] is row["peer_name"] is row["peer_tags"] is None
    deleted = _one(_flow("nGoneCNTRL", virtualTraffic=[{"dst": "100.88.12.40:2"}]), index)
    assert deleted["node_name"] is deleted["node_tags"] is None
    assert deleted["peer_node_id"] == ROUTER


def test_an_address_two_devices_claim_resolves_to_nobody() -> None:
    moved = [*DEVICES, {"nodeId": "nNewCNTRL", "name": "new", "addresses": ["100.88.12.40"]}]
    row = _one(_flow(virtualTraffic=[{"dst": "100.88.12.40:2"}]), DeviceIndex(moved))
    assert row["peer_node_id"] is None


def test_subnet_with_two_foreign_devices_is_not_guessed(index: DeviceIndex) -> None:
    flow = _flow("nGoneCNTRL", subnetTraffic=[{"src": "100.101.34.7:1", "dst": "100.88.12.40:2"}])
    assert _one(flow, index)["peer_node_id"] is None


def test_without_an_index_every_enrichment_field_is_null() -> None:
    row = _one(_flow(virtualTraffic=[{"dst": "100.88.12.40:2"}]), None)
    enrichment = ("node_name", "node_tags", "peer_node_id", "peer_name", "peer_tags")
    assert all(row[field] is None for field in enrichment)
