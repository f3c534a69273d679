"""Inventory snapshots and per-connection rows, synced against the emulator."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tailscale_emulator import Emulator
from tap_tailscale.inventory import DeviceIndex
from tap_tailscale.logs.records import TRAFFIC_KINDS, network_record
from tap_tailscale.ocsf import ocsf_event_only
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, fast_settings, partition_bookmark, run_tap
from tests.ocsf_schema import validate

TAILNET = "example.com"
INVENTORY = ("devices", "users", "keys", "policy", "dns")
LOGS = ("configuration_audit", "admin_audit", "network_flow")


def _settings(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    window = {
        "start_date": format_timestamp(NOW - timedelta(days=2)),
        "end_date": format_timestamp(NOW),
    }
    return fast_settings(emulator.url, **{**window, **overrides})


def test_inventory_keys_equal_the_emulators_objects(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=INVENTORY)
    assert run.error is None
    dataset = emulator.dataset
    assert set(run.keys("devices", "nodeId")) == {
        d["nodeId"] for d in dataset.devices(TAILNET, "all")
    }
    assert set(run.keys("users", "id")) == {u["id"] for u in dataset.users(TAILNET, type="all")}
    assert set(run.keys("keys", "id")) == {k["id"] for k in dataset.keys(TAILNET)}
    assert len(run.records["policy"]) == 1
    assert run.records["policy"][0]["hujson"] == dataset.policy(TAILNET).hujson
    assert len(run.records["dns"]) == 1
    synced = {r["synced_at"] for stream in INVENTORY for r in run.records[stream]}
    assert len(synced) <= len(INVENTORY)
    for stream in INVENTORY:
        assert {r["tailnet"] for r in run.records[stream]} == {TAILNET}


def test_no_key_secret_is_ever_emitted(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=("keys",))
    for record in run.records["keys"]:
        assert "tskey-" not in str(record)
        assert "key" not in record


def test_connection_rows_are_one_per_traffic_item_and_enriched(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=("network_flow", "network_connection"))
    assert run.error is None
    flows = run.records["network_flow"]
    rows = run.records["network_connection"]
    items = sum(len(f.get(kind) or []) for f in flows for kind in TRAFFIC_KINDS)
    assert len(rows) == items > 100
    assert [k for k, n in Counter(r["connection_id"] for r in rows).items() if n > 1] == []
    index = DeviceIndex(emulator.dataset.devices(TAILNET, "all"))
    known = {d["nodeId"]: d["name"] for d in emulator.dataset.devices(TAILNET, "all")}
    for row in rows:
        assert row["node_name"] == known.get(row["nodeId"])
        peer = row["peer_node_id"]
        if peer is None:
            assert row["peer_name"] is None
            assert row["peer_tags"] is None
        else:
            assert row["peer_name"] == known[peer]
    assert any(r["node_name"] is None for r in rows), "flows from deleted devices"
    assert any(r["peer_name"] is not None for r in rows)
    # A row is named exactly when the device index knows its node.
    named = [(index.node(r["nodeId"]) is not None, r["node_name"] is not None) for r in rows]
    assert {known for known, _ in named} == {True, False}
    assert all(known == has_name for known, has_name in named)


def test_connection_rows_alone_follow_the_flow_windows_and_state(emulator: Emulator) -> None:
    together = run_tap(_settings(emulator), streams=("network_flow", "network_connection"))
    alone = run_tap(_settings(emulator), streams=("network_connection",))
    assert alone.keys("network_connection", "connection_id") == together.keys(
        "network_connection", "connection_id"
    )
    assert partition_bookmark(alone.final_state, "network_connection") == partition_bookmark(
        together.final_state, "network_flow"
    )


def test_connection_rows_survive_overlapping_runs(emulator: Emulator) -> None:
    middle = format_timestamp(NOW - timedelta(days=1, hours=5))
    first = run_tap(_settings(emulator, end_date=middle), streams=("network_connection",))
    second = run_tap(
        _settings(emulator, overlap_seconds=1800),
        state=first.final_state,
        streams=("network_connection",),
    )
    union = set(first.keys("network_connection", "connection_id")) | set(
        second.keys("network_connection", "connection_id")
    )
    expected = sum(
        len(network_record(e, TAILNET).get(kind) or [])
        for e in emulator.dataset.all_network_logs(TAILNET)
        for kind in TRAFFIC_KINDS
    )
    assert len(union) == expected


def test_denied_inventory_scopes_skip_with_one_warning_each(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emulator = make_emulator(deny_inventory_scopes=True)
    run = run_tap(_settings(emulator), streams=(*INVENTORY, *LOGS))
    assert run.error is None
    for stream in LOGS:
        assert run.records.get(stream)
    for stream in INVENTORY:
        assert stream not in run.records
        warnings = [
            line
            for line in (r.getMessage() for r in caplog.records)
            if f"{stream} [tailnet -]: skipped" in line and "scope" in line
        ]
        assert len(warnings) == 1, (stream, caplog.text[-3000:])


def test_ocsf_streams_emit_valid_events_for_every_record(emulator: Emulator) -> None:
    streams = ("admin_audit", "ocsf_audit", "network_connection", "ocsf_network_activity")
    run = run_tap(_settings(emulator), streams=streams)
    assert run.error is None
    assert len(run.records["ocsf_audit"]) == len(run.records["admin_audit"]) > 50
    assert len(run.records["ocsf_network_activity"]) == len(run.records["network_connection"])
    for stream in ("ocsf_audit", "ocsf_network_activity"):
        for event in run.records[stream]:
            assert validate(ocsf_event_only(event)) == [], event
    classes = Counter(e["class_uid"] for e in run.records["ocsf_audit"])
    assert {3001, 3004} <= set(classes), classes
