"""Fault injection: whatever the API does, the records that land are the whole dataset.

Every test compares the set of keys the tap emitted with the emulator's own dataset for
the range, so a skipped window or a lost record fails it.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tailscale_emulator import Emulator, FaultPlan
from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tap_tailscale.logs.records import CONFIGURATION_FIELDS, TRAFFIC_KINDS, network_record
from tap_tailscale.timeutil import format_timestamp, parse_timestamp
from tests.conftest import NOW, error_line, fast_settings, partition_bookmark, run_cli, run_tap

if TYPE_CHECKING:
    from pathlib import Path

    from tailscale_emulator import Emulator

TAILNET = "example.com"
START = NOW - timedelta(hours=12)
RANGE = {"start_date": format_timestamp(START), "end_date": format_timestamp(NOW)}
KINDS = (
    "429",
    "429-retry-after",
    "500",
    "502",
    "503",
    "504",
    "reset",
    "slow",
    "truncated",
    "bad-json",
    "logs-not-array",
)


def small_emulator(make_emulator: Any, **settings: Any) -> Emulator:
    return make_emulator(dataset_start=START, dataset_end=NOW, **settings)


def resilient_settings(api_url: str, **overrides: Any) -> dict[str, Any]:
    settings = fast_settings(
        api_url,
        **RANGE,
        request_timeout_seconds=0.5,
        max_attempts=8,
        configuration_window_seconds=3 * 3600,
        network_window_seconds=3600,
        min_window_seconds=300,
    )
    settings.update(overrides)
    return settings


def assert_complete(run: Any, emulator: Emulator) -> None:
    """Every event of the dataset was emitted, in every stream, and nothing else."""
    configuration = {
        configuration_event_id(e) for e in emulator.dataset.all_configuration_events(TAILNET)
    }
    network = {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)}
    assert configuration
    assert network
    assert set(run.keys("configuration_audit", "event_id")) == configuration
    assert set(run.keys("admin_audit", "event_id")) == configuration
    assert set(run.keys("network_flow", "flow_id")) == network
    for stream in ("configuration_audit", "network_flow"):
        assert partition_bookmark(run.final_state, stream) == format_timestamp(NOW), stream


def assert_windows_tile_the_range(emulator: Emulator) -> None:
    """The network windows that were read whole cover the range with no gap."""
    clean = sorted(
        (parse_timestamp(r.query["start"][0]), parse_timestamp(r.query["end"][0]))
        for r in emulator.requests
        if r.path.endswith("/logging/network") and r.status == 200 and r.fault is None
    )
    assert clean[0][0] == START
    assert clean[-1][1] == NOW
    for (_, previous_end), (next_start, _) in itertools.pairwise(clean):
        assert next_start <= previous_end, f"gap between {previous_end} and {next_start}"


@pytest.mark.parametrize("kind", KINDS)
def test_each_fault_alone_loses_nothing(make_emulator: Any, kind: str) -> None:
    emulator = small_emulator(
        make_emulator, faults=FaultPlan(rate=0.3, kinds=(kind,), seed=11, slow_seconds=1.0)
    )
    run = run_tap(resilient_settings(emulator.url))
    assert run.error is None
    faulted = [r for r in emulator.requests if r.fault == kind]
    assert faulted, f"the plan should have injected {kind}"
    assert_complete(run, emulator)
    assert_windows_tile_the_range(emulator)


@pytest.mark.parametrize("seed", [3, 5])
def test_all_faults_mixed_at_twenty_percent_lose_nothing(make_emulator: Any, seed: int) -> None:
    emulator = small_emulator(
        make_emulator, faults=FaultPlan(rate=0.2, kinds=KINDS, seed=seed, slow_seconds=1.0)
    )
    settings = resilient_settings(
        emulator.url, network_window_seconds=900, configuration_window_seconds=3600
    )
    run = run_tap(settings)
    assert run.error is None
    assert len({r.fault for r in emulator.requests if r.fault}) >= 5
    assert_complete(run, emulator)
    assert_windows_tile_the_range(emulator)


def test_window_halves_on_504_and_grows_back(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plan = FaultPlan(first_n=2, kinds=("504",), paths=("logging/network",))
    emulator = small_emulator(make_emulator, faults=plan)
    # The exact request sequence is serial by nature: no read-ahead in this one.
    run = run_tap(
        resilient_settings(emulator.url, min_window_seconds=60, read_ahead_windows=1),
        streams=("network_flow",),
    )
    assert run.error is None
    network = set(run.keys("network_flow", "flow_id"))
    assert network == {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)}
    sizes = [
        (parse_timestamp(r.query["end"][0]) - parse_timestamp(r.query["start"][0])).total_seconds()
        for r in emulator.requests
        if r.path.endswith("/logging/network")
    ]
    # 3600 fails, 1800 fails, then 900 twice, 1800 twice, and back to 3600.
    assert sizes[:8] == [3600, 1800, 900, 900, 1800, 1800, 3600, 3600]
    shrink_lines = [r.getMessage() for r in caplog.records if "halving windows" in r.getMessage()]
    assert len(shrink_lines) == 2
    assert "HTTP 504; halving windows to 1800 s" in shrink_lines[0]
    assert "HTTP 504; halving windows to 900 s" in shrink_lines[1]
    assert all("window [" in line for line in shrink_lines)


def test_a_window_that_times_out_is_halved(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plan = FaultPlan(first_n=1, kinds=("slow",), slow_seconds=1.0, paths=("logging/network",))
    emulator = small_emulator(make_emulator, faults=plan)
    run = run_tap(resilient_settings(emulator.url), streams=("network_flow",))
    assert run.error is None
    assert "failed with a read timeout; halving windows to 1800 s" in caplog.text


def test_oversized_bodies_split_the_window(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = small_emulator(make_emulator)
    run = run_tap(resilient_settings(emulator.url, max_response_bytes=8_000))
    assert run.error is None
    assert_complete(run, emulator)
    assert "max_response_bytes" in caplog.text


def test_breaker_stops_one_stream_keeps_state_and_the_next_run_resumes_there(
    make_emulator: Any, tmp_path: Path
) -> None:
    failing_from = START + timedelta(hours=4)
    plan = FaultPlan(
        windows_always_failing=[(failing_from + timedelta(minutes=10), NOW, "500")],
        paths=("logging/network",),
    )
    emulator = small_emulator(make_emulator, faults=plan)
    settings = resilient_settings(emulator.url, max_attempts=3)
    result = run_cli([], config=settings, tmp_path=tmp_path)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    error = error_line(result.stderr)
    assert "network_flow" in error
    assert "[tailnet -] stopped" in error
    assert f"resume at {failing_from.isoformat()}" in error
    assert "HTTP 500" in error
    messages = [json.loads(line) for line in result.stdout.splitlines()]
    streams_with_records = {m["stream"] for m in messages if m["type"] == "RECORD"}
    assert {"configuration_audit", "admin_audit", "network_flow"} <= streams_with_records
    state = next(m["value"] for m in reversed(messages) if m["type"] == "STATE")
    assert partition_bookmark(state, "network_flow") == format_timestamp(failing_from)
    assert partition_bookmark(state, "configuration_audit") == format_timestamp(NOW)

    emulator.config.faults = None
    emulator.reset_log()
    resumed = run_tap(settings, state=state, streams=("network_flow",))
    assert resumed.error is None
    # Windows read ahead may arrive first; the earliest window is where the run resumed.
    starts = [
        parse_timestamp(r.query["start"][0])
        for r in emulator.requests
        if r.path.endswith("/logging/network")
    ]
    assert min(starts) == failing_from
    before = {
        m["record"]["flow_id"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "network_flow"
    }
    union = before | set(resumed.keys("network_flow", "flow_id"))
    assert union == {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)}


def test_a_window_failing_at_the_minimum_size_trips_the_breaker(make_emulator: Any) -> None:
    bad_from = START + timedelta(hours=2)
    plan = FaultPlan(
        windows_always_failing=[(bad_from, bad_from + timedelta(minutes=1), "504")],
        paths=("logging/network",),
    )
    emulator = small_emulator(make_emulator, faults=plan)
    run = run_tap(
        resilient_settings(emulator.url, min_window_seconds=900, max_attempts=2),
        streams=("network_flow",),
    )
    assert run.error is not None
    assert run.error.exit_code == 3
    assert "network_flow" in str(run.error)
    assert partition_bookmark(run.final_state, "network_flow") == format_timestamp(bad_from)


@pytest.mark.parametrize("kill_after", [2, 150, 900, 1700])
def test_kill_9_anywhere_then_resume_from_the_last_state(
    emulator: Emulator, tmp_path: Path, kill_after: int
) -> None:
    settings = fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(days=2, minutes=5)),
        end_date=format_timestamp(NOW),
        network_window_seconds=1800,
        overlap_seconds=60,
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_tailscale", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    received = []
    for line in process.stdout:
        received.append(json.loads(line))
        if len(received) >= kill_after:
            break
    process.kill()  # SIGKILL: no handler runs, no final STATE is written
    process.wait()
    process.stdout.close()
    assert len(received) == kill_after, "the run finished before the kill point"
    states = [m["value"] for m in received if m["type"] == "STATE"]
    resumed = run_tap(settings, state=states[-1] if states else None)
    assert resumed.error is None
    for stream, key, expected in (
        (
            "configuration_audit",
            "event_id",
            {configuration_event_id(e) for e in emulator.dataset.all_configuration_events(TAILNET)},
        ),
        (
            "network_flow",
            "flow_id",
            {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)},
        ),
    ):
        before = {
            m["record"][key] for m in received if m["type"] == "RECORD" and m["stream"] == stream
        }
        assert before | set(resumed.keys(stream, key)) == expected, stream


def _replay_with_body(
    make_emulator: Any, tmp_path: Path, rewrite: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Record one configuration window, let `rewrite` edit its entries, and set up replay."""
    emulator = make_emulator(dataset_start=NOW - timedelta(hours=3), dataset_end=NOW)
    recording = tmp_path / "recording"
    settings = fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(hours=3)),
        end_date=format_timestamp(NOW),
    )
    run_tap({**settings, "record_dir": str(recording)}, streams=("configuration_audit",))
    body_path = recording / "0001.body"
    document = json.loads(body_path.read_text())
    entries = document["logs"]
    rewrite(document)
    body_path.write_text(json.dumps(document))
    return {**settings, "replay_dir": str(recording)}, entries


def test_bad_entries_are_logged_counted_and_the_rest_emitted(
    make_emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def corrupt(document: dict[str, Any]) -> None:
        logs = document["logs"]
        del logs[0]["eventTime"]  # missing required field
        logs[1]["actor"] = "alice"  # wrong type
        logs[2]["eventTime"] = "2026-11-22T01:00:00.5+02:00"  # non-UTC offset: converted
        logs[3]["old"] = 2**80  # huge integer in free-form JSON: kept exactly
        logs[4]["brandNewField"] = {"nested": True}  # unknown field: kept

    settings, entries = _replay_with_body(make_emulator, tmp_path, corrupt)
    run = run_tap(settings, streams=("configuration_audit",))
    assert run.error is None
    records = run.records["configuration_audit"]
    assert len(records) == len(entries) - 2
    # Events of one operation share eventGroupID, so look records up by their own key.
    by_id = {r["event_id"]: r for r in records}
    assert (
        by_id[configuration_event_id(entries[2])]["eventTime"] == "2026-11-21T23:00:00.500000000Z"
    )
    assert by_id[configuration_event_id(entries[3])]["old"] == str(2**80)
    # The emulator gives some events unknown fields of its own: all of them are kept.
    unknown = {k: v for k, v in entries[4].items() if k not in CONFIGURATION_FIELDS}
    assert unknown["brandNewField"] == {"nested": True}
    assert json.loads(by_id[configuration_event_id(entries[4])]["extra_fields"]) == unknown
    rejects = [r.getMessage() for r in caplog.records if "cannot be emitted" in r.getMessage()]
    assert len(rejects) == 2
    assert all("(key " in line and "window [" in line for line in rejects)
    assert "`eventTime` is missing" in rejects[0]
    assert "`actor` is str" in rejects[1]
    assert "configuration_audit: " in caplog.text
    assert "2 rejected" in caplog.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"logs": [{"eventTime": "2026-11-22T01:00:00Z"', "broke off"),
        ('{"logs": {"eventTime": "2026-11-22T01:00:00Z"}}', "neither an array nor null"),
        ("<html>502 Bad Gateway</html>", "not valid JSON"),
    ],
)
def test_a_malformed_body_fails_clearly_and_keeps_state(
    make_emulator: Any, tmp_path: Path, body: str, reason: str
) -> None:
    settings, _ = _replay_with_body(make_emulator, tmp_path, lambda _document: None)
    (tmp_path / "recording" / "0001.body").write_text(body)
    run = run_tap(
        {**settings, "max_attempts": 2},
        streams=("configuration_audit",),
    )
    assert run.error is not None
    assert run.error.exit_code == 3
    assert reason in str(run.error)
    assert partition_bookmark(run.final_state, "configuration_audit") is None


def test_kill_9_while_windows_are_read_ahead_loses_nothing(
    make_emulator: Any, tmp_path: Path
) -> None:
    # Every log request takes 0.2 s, so with four windows in flight the kill lands while
    # windows read ahead are still on their way; none of them may be claimed by a STATE.
    # Read-ahead is shown by the requests, not by the scheduler: once network windows are
    # asked for, an answer waits until a second one is on the wire (at most 10 s, once: if
    # it never comes, the tap did not read ahead and the test fails).
    emulator: Emulator | None = None
    done, gave_up = threading.Event(), threading.Event()

    def second_window_then_latency(seconds: float) -> None:
        assert emulator is not None
        if emulator.peak_in_flight("/logging/network") >= 1 and not gave_up.is_set():
            give_up = time.monotonic() + 10
            while emulator.peak_in_flight("/logging/network") < 2 and not done.is_set():
                if time.monotonic() > give_up:
                    gave_up.set()  # no read-ahead: stop holding answers back
                    break
                done.wait(0.005)
        done.wait(seconds)

    emulator = make_emulator(latency_seconds=0.2, sleep=second_window_then_latency)
    settings = fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(days=2, minutes=5)),
        end_date=format_timestamp(NOW),
        network_window_seconds=1800,
        read_ahead_windows=4,
        # A held answer must not be retried: a retry would be a second request in flight.
        request_timeout_seconds=60,
    )
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    with subprocess.Popen(
        [sys.executable, "-m", "tap_tailscale", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        received = []
        network_states = 0
        for line in process.stdout:
            message = json.loads(line)
            received.append(message)
            bookmarks = message.get("value", {}).get("bookmarks", {})
            if message["type"] == "STATE" and "network_flow" in bookmarks:
                network_states += 1
                if network_states == 20:
                    break
        process.kill()
    done.set()
    assert not gave_up.is_set(), "no second network window was asked for while one was out"
    assert 2 <= emulator.peak_in_flight("/logging/network") <= 4
    states = [m["value"] for m in received if m["type"] == "STATE"]
    resumed = run_tap(settings, state=states[-1])
    assert resumed.error is None
    before = {
        m["record"]["flow_id"]
        for m in received
        if m["type"] == "RECORD" and m["stream"] == "network_flow"
    }
    after = set(resumed.keys("network_flow", "flow_id"))
    expected = {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)}
    assert before | after == expected
    # The connection rows, fed by the same reads, are complete too: one per traffic item.
    rows = {
        m["record"]["connection_id"]
        for m in received
        if m["type"] == "RECORD" and m["stream"] == "network_connection"
    } | set(resumed.keys("network_connection", "connection_id"))
    items = sum(
        len(network_record(e, TAILNET).get(kind) or [])
        for e in emulator.dataset.all_network_logs(TAILNET)
        for kind in TRAFFIC_KINDS
    )
    assert len(rows) == items
