"""OCSF 1.8.0: every audit and network record validates against the vendored schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tap_tailscale.admin_audit import EVENT_TYPES
from tap_tailscale.ocsf import (
    OCSF_AUDIT,
    OCSF_NETWORK_ACTIVITY,
    ocsf_audit_event,
    ocsf_event_only,
    ocsf_network_activity,
)
from tests.admin_events import record
from tests.ocsf_schema import validate

ROLE_EVENTS = [("member", "admin"), ("admin", "member"), (None, None)]


def audit_records() -> list[dict[str, Any]]:
    records = [record(ev, old="x", new="y") for ev in EVENT_TYPES]
    records += [record(ev) for ev in EVENT_TYPES]
    records += [record("USER.UPDATE.USER_ROLE", old=o, new=n) for o, n in ROLE_EVENTS]
    records += [
        record("SPACESHIP.ENGAGE.WARP", actor={}, target={}),
        record("NODE.LOGIN", actor={"id": "n1", "type": "NODE", "tags": ["tag:ci"]}),
        record("API_KEY.CREATE", error="denied", actionDetails="scopes: all"),
    ]
    return records


def row(**extra: Any) -> dict[str, Any]:
    base = {
        "connection_id": "c1",
        "flow_id": "f1",
        "tailnet": "example.com",
        "nodeId": "nBcdef1CNTRL",
        "logged": "2025-03-04T09:30:00.290123456Z",
        "start": "2025-03-04T09:29:51.890999999Z",
        "end": "2025-03-04T09:29:56.886Z",
        "traffic_kind": "virtual",
        "proto": 6,
        "proto_name": "tcp",
        "src": "100.111.22.33:864",
        "dst": "100.44.55.66:2049",
        "src_ip": "100.111.22.33",
        "src_port": 864,
        "dst_ip": "100.44.55.66",
        "dst_port": 2049,
        "derp_region": None,
        "txPkts": 6,
        "txBytes": 900,
        "rxPkts": 3,
        "rxBytes": 728,
        "node_name": "pangolin.example.ts.net",
        "node_tags": None,
        "peer_node_id": "nX8fDaxCNTRL",
        "peer_name": "prod.example.ts.net",
        "peer_tags": ["tag:prod"],
    }
    return {**base, **extra}


NETWORK_ROWS = [
    row(),
    row(traffic_kind="subnet", src="10.0.0.5:5000", src_ip="10.0.0.5", src_port=5000),
    row(traffic_kind="exit", proto=None, proto_name=None, dst=None, dst_ip=None, dst_port=None),
    row(traffic_kind="exit", src=None, src_ip=None, src_port=None, peer_name=None),
    row(
        traffic_kind="physical",
        proto=None,
        proto_name=None,
        src_port=0,
        dst="127.3.3.40:4",
        dst_ip="127.3.3.40",
        dst_port=4,
        derp_region=4,
    ),
    row(src_ip="fd7a:115c:a1e0::1", dst_ip="fd7a:115c:a1e0::2", txBytes=2**64 - 1, start=None),
]


@pytest.mark.parametrize("rec", audit_records(), ids=lambda r: r["event_type"])
def test_every_audit_record_is_valid_ocsf(rec: dict[str, Any]) -> None:
    event = ocsf_audit_event(rec)
    assert validate(ocsf_event_only(event)) == []
    assert event["event_uid"] == event["metadata"]["uid"] == rec["event_id"]
    assert event["tailnet"] == event["metadata"]["tenant_uid"]
    assert event["cursor"] == rec["cursor"]
    assert set(event) <= set(OCSF_AUDIT["properties"])
    assert set(OCSF_AUDIT["required"]) <= set(event)
    json.dumps(event)


@pytest.mark.parametrize("connection", NETWORK_ROWS, ids=lambda r: str(r["traffic_kind"]))
def test_every_network_row_is_valid_ocsf(connection: dict[str, Any]) -> None:
    event = ocsf_network_activity(connection)
    assert validate(ocsf_event_only(event)) == []
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (4001, 6, 400106)
    assert set(event) <= set(OCSF_NETWORK_ACTIVITY["properties"])
    assert set(OCSF_NETWORK_ACTIVITY["required"]) <= set(event)


@pytest.mark.parametrize(
    ("ev", "fields", "expected"),
    [
        ("ADMIN_CONSOLE.LOGIN", {}, (3002, 1)),
        ("NODE.LOGOUT", {}, (3002, 2)),
        ("USER.CREATE", {}, (3001, 1)),
        ("USER.SUSPEND", {}, (3001, 5)),
        ("USER.INVITE", {}, (3001, 99)),
        ("USER.UPDATE.USER_ROLE", {"old": "member", "new": "admin"}, (3005, 1)),
        ("USER.UPDATE.USER_ROLE", {"old": "admin", "new": "member"}, (3005, 2)),
        ("NODE.APPROVE", {}, (3004, 6)),
        ("NODE.UPDATE.MACHINE_NAME", {}, (3004, 5)),
        ("NODE.DISABLE.KEY_EXPIRY", {}, (3004, 3)),
        ("TAILNET.DISABLE.MAGIC_DNS", {}, (3004, 9)),
        ("API_KEY.REVOKE", {}, (3004, 4)),
        ("SPACESHIP.ENGAGE.WARP", {}, (3004, 99)),
    ],
)
def test_class_and_activity_by_family(ev: str, fields: dict[str, Any], expected: tuple) -> None:
    event = ocsf_audit_event(record(ev, **fields))
    assert (event["class_uid"], event["activity_id"]) == expected
    assert event["type_uid"] == expected[0] * 100 + expected[1]


def test_audit_fields() -> None:
    rec = record("USER.UPDATE.USER_ROLE", old="member", new="admin", error="nope")
    event = ocsf_audit_event(rec)
    assert event["privileges"] == ["admin"]
    assert (event["status_id"], event["status_detail"]) == (2, "nope")
    assert event["severity_id"] == 4
    assert event["time"] == 1741079564318
    assert event["metadata"]["version"] == "1.8.0"
    assert event["metadata"]["product"]["name"] == "Tailscale"
    assert event["unmapped"]["findings"] == rec["findings"]
    acl = ocsf_audit_event(record("TAILNET.UPDATE.ACL", old="{}", new='{"acls": []}'))
    assert acl["entity"]["type_id"] == 5
    assert acl["entity"]["data"] == {"ACL": "{}"}
    assert acl["entity_result"]["data"] == {"ACL": '{"acls": []}'}
    with pytest.raises(ValueError, match="event_time"):
        ocsf_audit_event({**rec, "event_time": None})


def test_network_fields() -> None:
    event = ocsf_network_activity(row())
    assert event["time"] == event["start_time"] == 1741080591890
    assert event["duration"] == 4996
    assert event["metadata"]["logged_time"] == 1741080600290
    assert event["traffic"] == {
        "bytes_out": 900,
        "bytes_in": 728,
        "bytes": 1628,
        "packets_out": 6,
        "packets_in": 3,
        "packets": 9,
    }
    assert event["src_endpoint"]["uid"] == "nBcdef1CNTRL"
    assert event["dst_endpoint"]["uid"] == "nX8fDaxCNTRL"
    assert event["unmapped"]["src"] == "100.111.22.33:864"
    derp = ocsf_network_activity(NETWORK_ROWS[4])
    assert derp["dst_endpoint"] == {"ip": "127.3.3.40", "name": "derp-region-4"}
    big = ocsf_network_activity(NETWORK_ROWS[5])
    assert big["unmapped"]["traffic"]["bytes_out"] == str(2**64 - 1)
    assert "bytes_out" not in big["traffic"]
    assert big["connection_info"]["protocol_ver_id"] == 6


def test_validator_catches_departures() -> None:
    good = ocsf_event_only(ocsf_audit_event(record("NODE.APPROVE")))
    assert validate({**good, "type_uid": 1}) != []
    assert validate({**good, "severity_id": 7}) != []
    assert validate({**good, "made_up": 1}) != []
    assert validate({k: v for k, v in good.items() if k != "entity"}) != []
    assert validate({**good, "entity": {"type_id": 1}}) != []
    assert validate({**good, "time": "soon"}) != []
    assert validate({**good, "metadata": {**good["metadata"], "version": "1.1.0"}}) != []
