"""TS-PST-017 reads the records the `device_posture` stream really emits."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tailscale_emulator import TailnetConfig
from tap_tailscale.inventory import posture_record
from tap_tailscale.inventory.posture_rules import Sources, evaluate
from tap_tailscale.timeutil import format_timestamp, parse_timestamp
from tests.conftest import fast_settings, run_tap

NOW = datetime(2026, 3, 1, tzinfo=UTC)
RULE = "TS-PST-017"


def _record(node_id: str, expiries: Any) -> dict[str, Any]:
    body = {"attributes": {"custom:patchLevel": 7}, "expiries": expiries}
    return posture_record(body, node_id, "example.com", format_timestamp(NOW))


def _hits(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = evaluate(Sources(now=NOW, device_posture=records))
    return [(hit.subject_id, hit.detail) for rule, hit in found if rule.rule_id == RULE]


def test_an_expired_attribute_of_a_stream_record_is_a_finding() -> None:
    past = format_timestamp(NOW - timedelta(days=1))
    assert _hits([_record("nA", {"custom:patchLevel": past})]) == [
        ("nA", "posture attributes expired: custom:patchLevel")
    ]


def test_future_missing_and_empty_expiries_are_quiet() -> None:
    future = format_timestamp(NOW + timedelta(days=1))
    records = [
        _record("nA", {"custom:patchLevel": future}),
        _record("nB", {}),
        _record("nC", None),
    ]
    assert _hits(records) == []


def _expired(record: dict[str, Any], now: datetime) -> bool:
    expiries = json.loads(record["expiries"] or "{}")
    return any(parse_timestamp(at) <= now for at in expiries.values())


def test_findings_name_the_devices_whose_stream_records_expired(make_emulator: Any) -> None:
    emulator = make_emulator(tailnets={"example.com": TailnetConfig(inventory_devices=12)})
    run = run_tap(fast_settings(emulator.url), streams=("device_posture", "posture_findings"))
    assert run.error is None, run.stderr[-2000:]
    findings = [f for f in run.records["posture_findings"] if f["rule_id"] == RULE]
    now = max(parse_timestamp(f["synced_at"]) for f in run.records["posture_findings"])
    expected = {r["nodeId"] for r in run.records["device_posture"] if _expired(r, now)}
    assert expected  # the emulator plants expired attributes
    assert {f["subject_id"] for f in findings} == expected
    # The findings read what device_posture kept: no device is asked twice.
    asked = [r.path for r in emulator.requests if r.path.endswith("/attributes")]
    assert len(asked) == len(set(asked)) == len(run.records["device_posture"])
    # Unselected, device_posture is not read (one request per device) and 017 is silent.
    alone = run_tap(fast_settings(emulator.url), streams=("posture_findings",))
    assert not [f for f in alone.records["posture_findings"] if f["rule_id"] == RULE]


def test_a_fresh_device_posture_snapshot_is_not_asked_again_for_findings(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(tailnets={"example.com": TailnetConfig(inventory_devices=6)})
    settings = fast_settings(emulator.url, inventory_intervals={"device_posture": 3600})
    streams = ("device_posture", "posture_findings")
    first = run_tap(settings, streams=streams)
    assert first.error is None, first.stderr[-2000:]
    asked = sum(r.path.endswith("/attributes") for r in emulator.requests)
    assert asked == len(first.records["device_posture"])
    caplog.set_level(logging.WARNING)
    second = run_tap(settings, state=first.final_state, streams=streams)
    assert second.error is None, second.stderr[-2000:]
    assert "device_posture" not in second.records
    assert sum(r.path.endswith("/attributes") for r in emulator.requests) == asked
    assert not [f for f in second.records["posture_findings"] if f["rule_id"] == RULE]
    said = [r.getMessage() for r in caplog.records if RULE in r.getMessage()]
    assert len(said) == 1
    assert "still fresh" in said[0]
