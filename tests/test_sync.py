"""Syncs against the emulator: completeness, windows, state and resumption."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from tailscale_emulator import Credential, Emulator, TailnetConfig
from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tap_tailscale.timeutil import format_timestamp, normalize_timestamp, parse_timestamp
from tests.conftest import NOW, fast_settings, partition_bookmark, run_tap

TAILNET = "example.com"


def expected_configuration_keys(emulator: Emulator, tailnet: str = TAILNET) -> set[str]:
    return {configuration_event_id(e) for e in emulator.dataset.all_configuration_events(tailnet)}


def expected_flow_keys(emulator: Emulator, tailnet: str = TAILNET) -> set[str]:
    return {network_flow_id(e) for e in emulator.dataset.all_network_logs(tailnet)}


def full_range(**overrides: Any) -> dict[str, Any]:
    """Settings covering the default emulator's whole dataset (two days)."""
    settings = {
        "start_date": format_timestamp(NOW - timedelta(days=2, minutes=5)),
        "end_date": format_timestamp(NOW),
    }
    settings.update(overrides)
    return settings


def test_one_run_reads_every_event_exactly_once(emulator: Emulator) -> None:
    run = run_tap(fast_settings(emulator.url, **full_range()))
    assert run.error is None
    config_keys = run.keys("configuration_audit", "event_id")
    flow_keys = run.keys("network_flow", "flow_id")
    assert set(config_keys) == expected_configuration_keys(emulator)
    assert set(flow_keys) == expected_flow_keys(emulator)
    # The SDK's own primary-key test cannot fail; this one can.
    assert [k for k, n in Counter(config_keys).items() if n > 1] == []
    assert [k for k, n in Counter(flow_keys).items() if n > 1] == []
    assert len(config_keys) > 100
    assert len(flow_keys) > 100


def test_events_sharing_group_and_time_are_all_kept(emulator: Emulator) -> None:
    events = list(emulator.dataset.all_configuration_events(TAILNET))
    pairs = Counter((e["eventGroupID"], e["eventTime"]) for e in events)
    shared = {pair for pair, count in pairs.items() if count > 1}
    assert shared, "the emulator should produce events sharing eventGroupID and eventTime"
    run = run_tap(fast_settings(emulator.url, **full_range()), streams=("configuration_audit",))
    emitted = Counter(
        (r["eventGroupID"], r["eventTime"]) for r in run.records["configuration_audit"]
    )
    for group_id, event_time in shared:
        assert emitted[(group_id, normalize_timestamp(event_time))] == pairs[(group_id, event_time)]


def test_windows_are_one_request_each_and_bookmarks_are_window_ends(emulator: Emulator) -> None:
    settings = fast_settings(emulator.url, **full_range(), configuration_window_seconds=6 * 3600)
    run = run_tap(settings, streams=("configuration_audit",))
    requests = [r for r in emulator.requests if r.path.endswith("/logging/configuration")]
    # Windows read ahead may reach the server out of order.
    spans = sorted(
        (parse_timestamp(r.query["start"][0]), parse_timestamp(r.query["end"][0])) for r in requests
    )
    # A body that names its tailnet only after `logs` (as the emulator's do now and then)
    # costs one request for the first second of that window: not a window of its own.
    asks = [span for span in spans if span[1] - span[0] == timedelta(seconds=1)]
    assert len(asks) <= 1
    spans = [span for span in spans if span not in asks]
    starts = [start for start, _ in spans]
    ends = [end for _, end in spans]
    assert all(end - start <= timedelta(hours=6) for start, end in zip(starts, ends, strict=True))
    assert starts[1:] == ends[:-1], "windows must tile the range with no gap"
    bookmark = partition_bookmark(run.final_state, "configuration_audit")
    assert bookmark == format_timestamp(ends[-1])
    assert len(bookmark) == len("2024-01-01T00:00:00.000000000Z")


def test_state_never_claims_a_record_not_yet_emitted(emulator: Emulator) -> None:
    settings = fast_settings(emulator.url, **full_range(), network_window_seconds=3 * 3600)
    run = run_tap(settings, streams=("network_flow",))
    expected = sorted(
        normalize_timestamp(e["logged"]) for e in emulator.dataset.all_network_logs(TAILNET)
    )
    emitted: list[str] = []
    checked_states = 0
    for message in run.messages:
        if message["type"] == "RECORD":
            emitted.append(message["record"]["logged"])
        elif message["type"] == "STATE":
            bookmark = partition_bookmark(message["value"], "network_flow")
            if bookmark is None:
                continue
            checked_states += 1
            owed = [logged for logged in expected if logged < bookmark]
            assert Counter(owed) - Counter(emitted) == Counter(), f"STATE {bookmark} came early"
    assert checked_states >= 16


def test_second_run_resumes_from_the_first_runs_state(emulator: Emulator) -> None:
    middle = format_timestamp(NOW - timedelta(days=1, hours=3, minutes=17))
    first = run_tap(fast_settings(emulator.url, **full_range(end_date=middle)))
    assert partition_bookmark(first.final_state, "configuration_audit") == middle
    assert partition_bookmark(first.final_state, "network_flow") == middle
    emulator.reset_log()
    second = run_tap(
        fast_settings(emulator.url, **full_range(end_date=None), overlap_seconds=600),
        state=first.final_state,
    )
    assert second.error is None
    # network_flow is the only stream on its path, so its earliest window is the resume point.
    resumed_at = min(
        parse_timestamp(r.query["start"][0])
        for r in emulator.requests
        if r.path.endswith("/logging/network")
    )
    assert resumed_at == parse_timestamp(middle) - timedelta(minutes=10)
    for stream, key, expected in (
        ("configuration_audit", "event_id", expected_configuration_keys(emulator)),
        ("network_flow", "flow_id", expected_flow_keys(emulator)),
    ):
        union = set(first.keys(stream, key)) | set(second.keys(stream, key))
        assert union == expected, f"{stream}: {len(expected - union)} events missing"
        assert set(first.keys(stream, key))
        assert set(second.keys(stream, key))


def test_empty_stretch_advances_bookmark_and_is_not_rescanned(
    make_emulator: Any,
) -> None:
    quiet = [(NOW - timedelta(hours=12), NOW + timedelta(days=1))]
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(quiet_periods=quiet)})
    first = run_tap(fast_settings(emulator.url, **full_range()))
    assert first.error is None
    for stream in ("configuration_audit", "network_flow"):
        assert partition_bookmark(first.final_state, stream) == format_timestamp(NOW), stream
    # Windows after the first empty one were still requested (no early stop on empty).
    config_requests = [r for r in emulator.requests if r.path.endswith("/logging/configuration")]
    last_end = max(parse_timestamp(r.query["end"][0]) for r in config_requests)
    assert last_end == NOW
    assert any(r.status == 200 for r in config_requests)
    emulator.reset_log()
    second = run_tap(fast_settings(emulator.url, end_date=None), state=first.final_state)
    assert second.error is None
    starts = [parse_timestamp(r.query["start"][0]) for r in emulator.requests if "start" in r.query]
    # admin_audit's frontier is a microsecond before the bound, so it re-reads one second.
    assert starts
    assert min(starts) >= NOW - timedelta(seconds=1)


def test_logs_null_and_empty_windows_do_not_end_the_run(make_emulator: Any) -> None:
    quiet = [(NOW - timedelta(hours=30), NOW - timedelta(hours=20))]
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(quiet_periods=quiet)})
    run = run_tap(
        fast_settings(emulator.url, **full_range(), configuration_window_seconds=3600),
        streams=("configuration_audit",),
    )
    assert set(run.keys("configuration_audit", "event_id")) == expected_configuration_keys(emulator)
    times = [r["eventTime"] for r in run.records["configuration_audit"]]
    assert max(times) > format_timestamp(NOW - timedelta(hours=20))


def test_each_tailnet_keeps_its_own_bookmark(make_emulator: Any) -> None:
    emulator = make_emulator(
        tailnets={"alpha.example": TailnetConfig(), "beta.example": TailnetConfig()},
        api_keys={
            "multi-key": Credential(tailnet="alpha.example", other_tailnets=("beta.example",))
        },
    )
    settings = fast_settings(
        emulator.url,
        api_key="multi-key",
        tailnets=["alpha.example", "beta.example"],
        **full_range(),
    )
    run = run_tap(settings, streams=("configuration_audit",))
    assert run.error is None
    by_tailnet = Counter(r["tailnet"] for r in run.records["configuration_audit"])
    assert set(by_tailnet) == {"alpha.example", "beta.example"}
    for tailnet in ("alpha.example", "beta.example"):
        assert partition_bookmark(run.final_state, "configuration_audit", tailnet)
        assert {
            r["event_id"] for r in run.records["configuration_audit"] if r["tailnet"] == tailnet
        } == expected_configuration_keys(emulator, tailnet)


def test_start_date_older_than_retention_is_clamped_with_one_warning(
    emulator: Emulator, caplog: Any
) -> None:
    settings = fast_settings(
        emulator.url,
        start_date="2020-01-01T00:00:00Z",
        end_date=format_timestamp(NOW),
        network_window_seconds=30 * 86400,
        configuration_window_seconds=90 * 86400,
    )
    run = run_tap(settings, streams=("configuration_audit", "network_flow"))
    assert run.error is None
    warnings = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert len(warnings) == 2
    assert any("network_flow" in w and "30-day" in w and "2020-01-01" in w for w in warnings)
    assert any("configuration_audit" in w and "90-day" in w for w in warnings)
    network_start = min(
        parse_timestamp(r.query["start"][0])
        for r in emulator.requests
        if r.path.endswith("/logging/network")
    )
    assert NOW - timedelta(days=30) <= network_start <= NOW - timedelta(days=29, hours=23)


def test_read_ahead_emits_what_a_serial_read_emits_with_at_most_n_requests_out(
    make_emulator: Any,
) -> None:
    emulator = make_emulator(latency_seconds=0.02)
    settings = fast_settings(emulator.url, **full_range(), network_window_seconds=3 * 3600)
    serial = run_tap({**settings, "read_ahead_windows": 1}, streams=("network_flow",))
    assert emulator.peak_in_flight("/logging/network") == 1
    emulator.reset_log()
    ahead = run_tap({**settings, "read_ahead_windows": 2}, streams=("network_flow",))
    assert serial.error is None
    assert ahead.error is None
    # The same records and states in the same order: read-ahead changes only the timing.
    assert ahead.records_and_states == serial.records_and_states
    assert len(serial.records["network_flow"]) > 1000
    assert emulator.peak_in_flight("/logging/network") <= 2
