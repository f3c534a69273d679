"""Window planning and bookmark arithmetic, as pure unit tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tap_tailscale.logs.windows import SyncRange, Window, WindowPlanner, plan_range

NOW = datetime(2026, 11, 22, 12, 0, 30, 123456, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _plan(**overrides: object) -> SyncRange:
    arguments: dict = {
        "now": NOW,
        "bookmark": None,
        "start_date": None,
        "end_date": None,
        "retention": timedelta(days=90),
        "lag": timedelta(seconds=120),
        "overlap": timedelta(seconds=300),
    }
    arguments.update(overrides)
    return plan_range(**arguments)


def test_first_run_without_start_date_starts_at_retention_limit() -> None:
    planned = _plan()
    assert planned.start == datetime(2026, 8, 24, 12, 1, 30, tzinfo=UTC)
    assert planned.end == datetime(2026, 11, 22, 11, 58, 30, tzinfo=UTC)
    assert planned.unavailable is None


def test_end_is_now_minus_lag_floored_to_whole_seconds() -> None:
    assert _plan(lag=timedelta(0)).end == datetime(2026, 11, 22, 12, 0, 30, tzinfo=UTC)


def test_bookmark_resumes_with_overlap() -> None:
    bookmark = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert _plan(bookmark=bookmark).start == bookmark - timedelta(seconds=300)


def test_start_date_later_than_bookmark_wins() -> None:
    bookmark = datetime(2026, 11, 1, tzinfo=UTC)
    start_date = datetime(2026, 11, 10, tzinfo=UTC)
    assert _plan(bookmark=bookmark, start_date=start_date).start == start_date


def test_old_start_date_is_clamped_and_the_lost_range_reported() -> None:
    start_date = datetime(2026, 1, 1, tzinfo=UTC)
    planned = _plan(start_date=start_date, retention=timedelta(days=30))
    oldest = datetime(2026, 10, 23, 12, 1, 30, tzinfo=UTC)
    assert planned.start == oldest
    assert planned.unavailable == (start_date, oldest)


def test_stale_bookmark_is_clamped_too() -> None:
    planned = _plan(bookmark=datetime(2025, 1, 1, tzinfo=UTC))
    assert planned.unavailable is not None
    assert planned.start == planned.unavailable[1]


def test_end_date_bounds_the_run_but_never_passes_now_minus_lag() -> None:
    end_date = datetime(2026, 11, 1, tzinfo=UTC)
    assert _plan(end_date=end_date).end == end_date
    assert _plan(end_date=NOW + DAY).end == datetime(2026, 11, 22, 11, 58, 30, tzinfo=UTC)


def test_range_is_empty_when_bookmark_is_within_lag() -> None:
    planned = _plan(bookmark=NOW, overlap=timedelta(0))
    assert planned.is_empty


def _walk(planner: WindowPlanner) -> list[Window]:
    windows = []
    while (window := planner.current()) is not None:
        windows.append(window)
        planner.complete(window)
    return windows


def test_windows_partition_the_range_exactly() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(hours=5, minutes=30)
    windows = _walk(WindowPlanner(SyncRange(start, end), size=HOUR, min_size=timedelta(minutes=1)))
    assert len(windows) == 6
    assert windows[0].start == start
    assert windows[-1].end == end
    assert windows[-1].duration == timedelta(minutes=30)
    for previous, following in itertools.pairwise(windows):
        assert previous.end == following.start


def test_empty_range_has_no_windows() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert WindowPlanner(SyncRange(start, start), size=HOUR, min_size=HOUR).current() is None


def test_shrink_halves_down_to_the_minimum_and_reports_it() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    planner = WindowPlanner(
        SyncRange(start, start + DAY), size=HOUR, min_size=timedelta(minutes=10)
    )
    assert planner.shrink() == timedelta(minutes=30)
    assert planner.shrink() == timedelta(minutes=15)
    assert planner.shrink() == timedelta(minutes=10)
    assert not planner.can_shrink
    assert planner.shrink() == timedelta(minutes=10)
    window = planner.current()
    assert window is not None
    assert window == Window(start, start + timedelta(minutes=10))


def test_window_grows_back_after_successes() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    planner = WindowPlanner(
        SyncRange(start, start + DAY), size=HOUR, min_size=timedelta(minutes=1), grow_after=2
    )
    planner.shrink()
    planner.shrink()
    sizes = []
    for _ in range(6):
        window = planner.current()
        assert window is not None
        sizes.append(window.duration)
        planner.complete(window)
    minutes = [int(size.total_seconds() // 60) for size in sizes]
    assert minutes == [15, 15, 30, 30, 60, 60]


def test_shrinking_never_skips_time() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(hours=3)
    planner = WindowPlanner(SyncRange(start, end), size=HOUR, min_size=timedelta(minutes=5))
    covered = []
    failed_once = False
    while (window := planner.current()) is not None:
        if not failed_once and window.start == start + HOUR:
            failed_once = True
            planner.shrink()
            continue
        covered.append(window)
        planner.complete(window)
    assert covered[0].start == start
    assert covered[-1].end == end
    for previous, following in itertools.pairwise(covered):
        assert previous.end == following.start


def test_window_size_must_be_positive() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="positive"):
        WindowPlanner(SyncRange(start, start + DAY), size=timedelta(0), min_size=timedelta(0))
