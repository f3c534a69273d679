"""admin_audit through the tap: exactly-once cursor, filters, overrides, ACL diffs."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tap_tailscale.admin_audit import event_type
from tap_tailscale.logs.keys import configuration_event_id
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, error_line, fast_settings, partition_bookmark, run_cli, run_tap

if TYPE_CHECKING:
    from pathlib import Path

    from tailscale_emulator import Emulator

TAILNET = "example.com"
START = NOW - timedelta(days=2, minutes=5)


def admin_settings(api_url: str, **overrides: Any) -> dict[str, Any]:
    settings = fast_settings(
        api_url,
        start_date=format_timestamp(START),
        configuration_window_seconds=4 * 3600,
    )
    settings.update(overrides)
    return settings


@pytest.mark.parametrize("inclusive_end", [True, False])
def test_three_runs_with_overlap_emit_every_event_exactly_once(
    make_emulator: Any, inclusive_end: bool
) -> None:
    emulator = make_emulator(inclusive_end=inclusive_end)
    events = list(emulator.dataset.all_configuration_events(TAILNET))
    shared_time = Counter(e["eventTime"] for e in events)
    assert any(count > 1 for count in shared_time.values()), "need events sharing eventTime"
    state: dict[str, Any] | None = None
    emitted: list[dict[str, Any]] = []
    for end in (NOW - timedelta(hours=31, minutes=7), NOW - timedelta(hours=9, minutes=41), NOW):
        run = run_tap(
            admin_settings(emulator.url, end_date=format_timestamp(end), overlap_seconds=6 * 3600),
            state=state,
            streams=("admin_audit",),
        )
        assert run.error is None
        emitted.extend(run.records.get("admin_audit", []))
        state = run.final_state
    ids = [record["event_id"] for record in emitted]
    assert [key for key, count in Counter(ids).items() if count > 1] == []
    assert set(ids) == {configuration_event_id(e) for e in events}
    cursors = [record["cursor"] for record in emitted]
    assert cursors == sorted(cursors), "cursors must rise across runs"
    assert len(set(cursors)) == len(cursors)


@pytest.mark.parametrize("together", [True, False])
def test_shuffled_windows_lose_nothing_and_cursor_streams_emit_each_event_once(
    make_emulator: Any, together: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Every window's entries in a shuffled order, and the envelope's name after `logs`:
    # three runs with a long overlap, the cursor streams alone or fed by one read.
    caplog.set_level(logging.INFO)
    emulator = make_emulator(shuffle_logs=True, name_after_logs_every=1)
    events = list(emulator.dataset.all_configuration_events(TAILNET))
    expected = {configuration_event_id(e) for e in events}
    cursor_streams = ("admin_audit", "ocsf_audit")
    groups = (
        [("configuration_audit", *cursor_streams)] if together else [(s,) for s in cursor_streams]
    )
    for streams in groups:
        state: dict[str, Any] | None = None
        emitted: dict[str, list[dict[str, Any]]] = {name: [] for name in streams}
        left_out = 0
        for end in (
            NOW - timedelta(hours=31, minutes=7),
            NOW - timedelta(hours=9, minutes=41),
            NOW,
        ):
            run = run_tap(
                admin_settings(
                    emulator.url, end_date=format_timestamp(end), overlap_seconds=6 * 3600
                ),
                state=state,
                streams=streams,
            )
            assert run.error is None, run.stderr[-2000:]
            for name in streams:
                emitted[name].extend(run.records.get(name, []))
            left_out += caplog.text.count("left out as already emitted")
            caplog.clear()
            state = run.final_state
        assert left_out, "the overlap re-read events, and the summary said so"
        for name in cursor_streams:
            if name not in streams:
                continue
            records = emitted[name]
            assert all(r["tailnet"] == TAILNET for r in records)
            key = "event_id" if name == "admin_audit" else "event_uid"
            ids = sorted(record[key] for record in records)
            assert ids == sorted(expected), f"{name}: each event exactly once"
        if "configuration_audit" in streams:
            assert {r["event_id"] for r in emitted["configuration_audit"]} == expected


def test_configuration_audit_re_reads_the_overlap_with_the_same_keys(emulator: Emulator) -> None:
    first = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW - timedelta(hours=12))),
        streams=("configuration_audit",),
    )
    second = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW), overlap_seconds=3 * 3600),
        state=first.final_state,
        streams=("configuration_audit",),
    )
    overlap = set(first.keys("configuration_audit", "event_id")) & set(
        second.keys("configuration_audit", "event_id")
    )
    assert overlap, "the overlap re-reads events, under the same keys"
    events = emulator.dataset.all_configuration_events(TAILNET)
    assert set(first.keys("configuration_audit", "event_id")) | set(
        second.keys("configuration_audit", "event_id")
    ) == {configuration_event_id(e) for e in events}


def test_cursor_bookmark_is_fixed_width_time_and_event_id(emulator: Emulator) -> None:
    run = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW)), streams=("admin_audit",)
    )
    bookmark = partition_bookmark(run.final_state, "admin_audit")
    last = run.records["admin_audit"][-1]["cursor"]
    assert bookmark >= last
    time_part, _, id_part = last.partition("|")
    assert len(time_part) == len("2024-01-01T00:00:00.000000000Z")
    assert id_part == run.records["admin_audit"][-1]["event_id"]


def test_filters_reach_the_api_as_repeated_parameters(emulator: Emulator) -> None:
    wanted = ["TAILNET.UPDATE.ACL", "NODE.APPROVE", "USER.CREATE"]
    run = run_tap(
        admin_settings(
            emulator.url,
            end_date=format_timestamp(NOW),
            event=wanted,
            actor=["~example.com"],
            target=["example"],
        ),
        streams=("configuration_audit", "admin_audit"),
    )
    assert run.error is None
    config_requests = [r for r in emulator.requests if r.path.endswith("/logging/configuration")]
    assert config_requests
    for request in config_requests:
        assert request.query["event"] == wanted
        assert request.query["actor"] == ["~example.com"]
        assert request.query["target"] == ["example"]
    for stream in ("configuration_audit", "admin_audit"):
        assert run.records[stream], stream
    assert {event_type(r) for r in run.records["configuration_audit"]} <= set(wanted)
    assert {r["event_type"] for r in run.records["admin_audit"]} <= set(wanted)
    network = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW), event=wanted),
        streams=("network_flow",),
    )
    assert network.error is None
    assert all(
        "event" not in r.query for r in emulator.requests if r.path.endswith("/logging/network")
    )


def test_severity_overrides_win(emulator: Emulator) -> None:
    overrides = {"acl:update": "medium", "device:*": "info", "session:*": "high"}
    run = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW), severity_overrides=overrides),
        streams=("admin_audit",),
    )
    records = run.records["admin_audit"]
    by_action: dict[str, set[str]] = {}
    # A finding can only raise a record's severity; the base is what overrides set.
    for record in (r for r in records if not r["findings"]):
        by_action.setdefault(record["action"], set()).add(record["severity"])
    assert by_action["acl:update"] == {"medium"}
    assert all(by_action[a] == {"info"} for a in by_action if a.startswith("device:"))
    assert any(a.startswith("device:") for a in by_action)
    assert all(by_action[a] == {"high"} for a in by_action if a.startswith("session:"))
    assert any(a.startswith("session:") for a in by_action)


def test_invalid_override_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    settings = admin_settings(
        emulator.url, end_date=format_timestamp(NOW), severity_overrides={"acl:update": "urgent"}
    )
    result = run_cli([], config=settings, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error = error_line(result.stderr)
    assert "severity_overrides" in error
    assert "urgent" in error


def test_acl_changes_carry_a_policy_diff(emulator: Emulator) -> None:
    run = run_tap(
        admin_settings(emulator.url, end_date=format_timestamp(NOW)), streams=("admin_audit",)
    )
    acl = [r for r in run.records["admin_audit"] if r["event_type"] == "TAILNET.UPDATE.ACL"]
    assert acl
    with_both = [r for r in acl if r["old"] is not None and r["new"] is not None]
    assert with_both
    assert all(r["policy_diff"].startswith("--- old\n+++ new\n") for r in with_both)
    assert all(r["action"] == "acl:update" for r in acl)
    # An ACL change is as severe as what it opens: high only through a high finding.
    for r in acl:
        assert (r["severity"] == "high") == any(f["severity"] == "high" for f in r["findings"])
    assert all(r["summary"] for r in run.records["admin_audit"])
    assert {r["source"] for r in run.records["admin_audit"]} == {"tailscale"}
    assert {r["category"] for r in run.records["admin_audit"]} == {"network"}


def test_an_emulator_run_raises_findings_on_the_expected_event_types(emulator: Emulator) -> None:
    run = run_tap(
        fast_settings(
            emulator.url,
            start_date=format_timestamp(NOW - timedelta(days=2)),
            end_date=format_timestamp(NOW),
        ),
        streams=("admin_audit",),
    )
    assert run.error is None
    records = run.records["admin_audit"]
    fired = {f["rule_id"]: r["event_type"] for r in records for f in r["findings"]}
    acl = [r for r in records if r["event_type"] == "TAILNET.UPDATE.ACL"]
    assert acl, "the emulator should update the policy"
    # The emulator cycles a widening, a narrowing, deleted tests and SSH as root.
    widened = [r for r in acl if any(f["rule_id"] == "TS-ACL-001" for f in r["findings"])]
    assert widened
    assert all(r["severity"] == "high" for r in widened)
    narrowed = [r for r in acl if not r["findings"]]
    assert narrowed, "a narrowing raises nothing"
    assert all(
        r["severity"] == "info" and r["policy_changes"]["no_longer_reachable"] for r in narrowed
    )
    assert all(rule.startswith("TS-") for rule in fired)
    for rule, fired_on in fired.items():
        if rule.startswith("TS-ACL"):
            assert fired_on == "TAILNET.UPDATE.ACL"
    assert all(r["severity"] in {"high", "medium", "info"} for r in records)
