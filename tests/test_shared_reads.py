"""One read of each configuration window feeds both configuration streams."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

from tailscale_emulator import Emulator
from tap_tailscale.timeutil import format_timestamp, parse_timestamp
from tests.conftest import NOW, fast_settings, partition_bookmark, run_tap

CONFIG_STREAMS = ("configuration_audit", "admin_audit")
ONE_SECOND = timedelta(seconds=1)


def _settings(emulator: Emulator) -> dict:
    return fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(days=2)),
        end_date=format_timestamp(NOW),
        configuration_window_seconds=6 * 3600,
    )


def _configuration_requests(emulator: Emulator) -> list[tuple[str, str]]:
    """The configuration windows read (not the one-second request that names the tailnet)."""
    windows = [
        (r.query["start"][0], r.query["end"][0])
        for r in emulator.requests
        if r.path.endswith("/logging/configuration")
    ]
    return [w for w in windows if parse_timestamp(w[1]) - parse_timestamp(w[0]) > ONE_SECOND]


def test_both_configuration_streams_share_one_request_per_window(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=CONFIG_STREAMS)
    assert run.error is None
    windows = _configuration_requests(emulator)
    assert len(windows) == 8  # two days in six-hour windows
    assert Counter(windows).most_common(1)[0][1] == 1, "a window was read twice"
    config = run.keys("configuration_audit", "event_id")
    admin = run.keys("admin_audit", "event_id")
    assert len(config) > 50
    assert Counter(admin) == Counter(config)
    for stream in CONFIG_STREAMS:
        assert partition_bookmark(run.final_state, stream) is not None


def test_each_stream_alone_reads_the_same_records(emulator: Emulator) -> None:
    together = run_tap(_settings(emulator), streams=CONFIG_STREAMS)
    for stream in CONFIG_STREAMS:
        alone = run_tap(_settings(emulator), streams=(stream,))
        assert alone.error is None
        assert alone.keys(stream, "event_id") == together.keys(stream, "event_id")
        assert partition_bookmark(alone.final_state, stream) == partition_bookmark(
            together.final_state, stream
        )


def test_a_schema_precedes_every_record_of_the_fed_stream(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=CONFIG_STREAMS)
    seen_schema: set[str] = set()
    for message in run.messages:
        if message["type"] == "SCHEMA":
            seen_schema.add(message["stream"])
        elif message["type"] == "RECORD":
            assert message["stream"] in seen_schema


def test_a_companion_bookmark_ahead_of_the_driver_never_moves_back(emulator: Emulator) -> None:
    first = run_tap(_settings(emulator), streams=("admin_audit",))
    ahead = partition_bookmark(first.final_state, "admin_audit")
    state = first.final_state
    run = run_tap(_settings(emulator), state=state, streams=CONFIG_STREAMS)
    assert run.error is None
    assert partition_bookmark(run.final_state, "admin_audit") == ahead
    assert run.records.get("admin_audit", []) == []
    assert len(run.keys("configuration_audit", "event_id")) > 50


def test_records_carry_the_resolved_tailnet_and_state_keeps_the_setting(
    emulator: Emulator,
) -> None:
    run = run_tap(_settings(emulator))
    assert run.error is None
    for stream in ("configuration_audit", "admin_audit", "network_flow"):
        assert {r["tailnet"] for r in run.records[stream]} == {"example.com"}
        assert partition_bookmark(run.final_state, stream, tailnet="-") is not None


def test_a_network_only_run_asks_for_the_name_beside_its_first_window(
    make_emulator: Any,
) -> None:
    # Each log request's latency lasts until a second request has arrived. A tap that
    # waited for the tailnet's name before its first window would leave the name request
    # alone until the timeout.
    second_arrived = threading.Event()
    arrivals = itertools.count(1)
    waited_alone: list[int] = []

    def latency(_seconds: float) -> None:
        arrival = next(arrivals)
        if arrival >= 2:
            second_arrived.set()
        if not second_arrived.wait(timeout=10):
            waited_alone.append(arrival)

    emulator = make_emulator(sleep=latency, latency_seconds=1)
    settings = fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(hours=2)),
        end_date=format_timestamp(NOW),
        network_window_seconds=3600,
        read_ahead_windows=1,
    )
    run = run_tap(settings, streams=("network_flow",))
    assert run.error is None
    assert waited_alone == []
    assert {r["tailnet"] for r in run.records["network_flow"]} == {"example.com"}
    paths = [r.path.rsplit("/", 1)[-1] for r in emulator.requests]
    assert sorted(paths) == ["configuration", "network", "network"]
