"""Read-ahead without HTTP: the pool's bound on requests, discards, cooldown, spools, order.

Fetches here block on events the test releases, so nothing depends on timing.
"""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

import pytest
import requests

from tap_tailscale.client import RetryLoop, RetryPolicy
from tap_tailscale.errors import BodyError, ReadAheadCancelledError, RetriableError
from tap_tailscale.logs.readahead import (
    RATE_LIMIT_COOLDOWN_WINDOWS,
    SPOOL_MEMORY_BYTES,
    ReadAhead,
    copy_body,
    new_spool,
)
from tap_tailscale.logs.runner import WindowJob, run_windows
from tap_tailscale.logs.windows import SyncRange, Window, WindowPlanner
from tap_tailscale.report import RunReport

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

START = datetime(2025, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
WAIT = 10  # seconds; only reached if the code under test is broken


def hours(count: int) -> list[Window]:
    return [Window(START + i * HOUR, START + (i + 1) * HOUR) for i in range(count)]


class Fetches:
    """A fake fetch: each window's body is its start time; a window may be held back."""

    def __init__(self, *, hold: bool = False) -> None:
        self.lock = threading.Lock()
        self.started: list[Window] = []
        self.in_flight = 0
        self.peak = 0
        self.release: dict[Window, threading.Event] = {}
        self.cancels: dict[Window, threading.Event] = {}
        self.spools: dict[Window, BinaryIO] = {}
        self.hold = hold
        self.all_let_go = False
        self.changed = threading.Condition(self.lock)
        #: Window -> the error its next fetch raises.
        self.fail: dict[Window, BaseException] = {}
        #: Called with each window as its fetch starts.
        self.observe: Callable[[Window], None] = lambda _window: None

    def __call__(self, window: Window, cancel: threading.Event) -> BinaryIO:
        self.observe(window)
        with self.lock:
            self.started.append(window)
            self.cancels[window] = cancel
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            gate = self._gate(window)
            self.changed.notify_all()
        try:
            if self.hold:
                assert gate.wait(WAIT), f"{window} was never released"
            error = self.fail.pop(window, None)
            if error is not None:
                raise error
            spool = new_spool()
            spool.write(window.start.isoformat().encode())
            spool.seek(0)
            self.spools[window] = spool
            return spool
        finally:
            with self.lock:
                self.in_flight -= 1

    def wait_for(self, window: Window) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: window in self.started, WAIT)

    def wait_started(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.started) >= count, WAIT)

    def let_go(self, window: Window) -> None:
        with self.lock:
            self._gate(window).set()

    def let_all_go(self) -> None:
        """Release every window, held now or fetched later."""
        with self.lock:
            self.all_let_go = True
            for gate in self.release.values():
                gate.set()

    def _gate(self, window: Window) -> threading.Event:
        gate = self.release.setdefault(window, threading.Event())
        if self.all_let_go:
            gate.set()
        return gate


@contextmanager
def holding(depth: int) -> Iterator[tuple[Fetches, ReadAhead]]:
    """Held fetches and a ReadAhead over them; everything is let go and closed after."""
    fetches = Fetches(hold=True)
    ahead = ReadAhead(depth, fetches)
    try:
        yield fetches, ahead
    finally:
        fetches.let_all_go()
        ahead.close()


def body_of(future: Future[BinaryIO] | None) -> str:
    assert future is not None, "expected a window read ahead, not one to read directly"
    with future.result(WAIT) as spool:
        return spool.read().decode()


# ------------------------------------------------------------------------- ReadAhead


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_the_first_window_is_streamed_with_depth_minus_one_requests_beside_it(
    depth: int,
) -> None:
    windows = hours(8)
    with holding(depth) as (fetches, ahead):
        assert ahead.take(windows[: depth + 1]) is None  # the caller reads it, streaming
        fetches.wait_started(depth - 1)
        assert set(fetches.started) == set(windows[1:depth])
        assert fetches.in_flight == depth - 1


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_requests_in_flight_never_pass_the_depth(depth: int) -> None:
    windows = hours(12)
    with holding(depth) as (fetches, ahead):
        assert ahead.take(windows[: depth + 1]) is None
        for index in range(1, len(windows)):
            current = ahead.take(windows[index : index + depth + 1])
            fetches.wait_started(min(index + depth - 1, len(windows) - 1))
            # Every thread is busy: the window queued beyond the depth has not started.
            assert fetches.in_flight == min(depth, len(windows) - index)
            if index + depth < len(windows):
                assert windows[index + depth] not in fetches.started
            fetches.let_go(windows[index])
            assert body_of(current) == windows[index].start.isoformat()
        assert fetches.peak == depth
        assert sorted(fetches.started, key=lambda w: w.start) == windows[1:]
        assert len(fetches.started) == len(windows) - 1, "a window was requested twice"


def test_one_body_done_frees_a_thread_for_the_next_window_at_once() -> None:
    windows = hours(6)
    with holding(2) as (fetches, ahead):
        assert ahead.take(windows[:3]) is None
        current = ahead.take(windows[1:4])
        fetches.wait_started(2)
        assert set(fetches.started) == {windows[1], windows[2]}
        # A body completes while the main thread is elsewhere: the queued window starts
        # on the freed thread without waiting for the next take().
        fetches.let_go(windows[1])
        fetches.wait_started(3)
        assert fetches.started[2] == windows[3]
        assert body_of(current) == windows[1].start.isoformat()


def test_depth_one_is_not_read_ahead() -> None:
    assert not ReadAhead(1, Fetches()).enabled
    assert ReadAhead(2, Fetches()).enabled


def test_a_rate_limit_discards_what_was_read_and_reads_one_window_for_a_while() -> None:
    windows = hours(20)
    fetches = Fetches()
    ahead = ReadAhead(4, fetches)
    try:
        assert ahead.take(windows[:5]) is None
        assert body_of(ahead.take(windows[1:6])) == windows[1].start.isoformat()
        fetches.wait_started(5)
        ahead.rate_limited()
        for window in windows[2:6]:
            assert fetches.cancels[window].is_set(), f"{window} was not discarded"
        before = len(fetches.started)
        for index in range(2, 2 + RATE_LIMIT_COOLDOWN_WINDOWS):
            assert ahead.windows_ahead == 0
            current = ahead.take(windows[index : index + 1])
            if current is not None:  # the discarded fetches had not all ended yet
                assert body_of(current) == windows[index].start.isoformat()
            # One window at a time: nothing after the current one was requested.
            assert set(fetches.started[before:]) <= set(windows[2 : index + 1])
        assert ahead.windows_ahead == 4
    finally:
        ahead.close()


def test_a_changed_plan_drops_the_windows_it_no_longer_has() -> None:
    windows = hours(5)
    half = Window(windows[2].start, windows[2].start + HOUR / 2)
    rest = Window(half.end, windows[2].end)
    with holding(2) as (fetches, ahead):
        assert ahead.take(windows[:3]) is None
        current = ahead.take(windows[1:4])
        fetches.wait_started(2)  # windows 1 and 2 are running, window 3 is queued
        fetches.let_go(windows[1])
        assert body_of(current) == windows[1].start.isoformat()
        fetches.wait_started(3)
        # A shrink halves window 2 while window 3 is still on its way.
        later = ahead.take([half, rest])
        assert fetches.cancels[windows[2]].is_set(), "the running fetch was not told to stop"
        assert fetches.cancels[windows[3]].is_set(), "the running fetch was not told to stop"
        # A real fetch stops at its next block once told; these stop when let go.
        for window in (windows[2], windows[3], half, rest):
            fetches.let_go(window)
        assert body_of(later) == half.start.isoformat()
        ahead.close()
        assert fetches.started.count(half) == 1


def test_a_window_dropped_before_its_turn_is_never_requested() -> None:
    windows = hours(6)
    with holding(2) as (fetches, ahead):
        assert ahead.take(windows[:3]) is None
        current = ahead.take(windows[1:4])  # 1 and 2 run on the two threads, 3 waits
        fetches.wait_started(2)
        ahead.discard()
        fetches.let_go(windows[1])
        fetches.let_go(windows[2])
        assert body_of(current) == windows[1].start.isoformat()
        ahead.close()
        assert windows[3] not in fetches.started


def test_after_a_discard_the_pool_serves_until_the_dropped_fetches_end() -> None:
    windows = hours(4)
    with holding(2) as (fetches, ahead):
        assert ahead.take(windows[:2]) is None  # window 1 runs beside the direct read
        fetches.wait_started(1)
        ahead.discard()  # window 1 is still running: the partition is not idle
        later = ahead.take(windows[2:4])
        assert later is not None, "a direct read now would make three requests in flight"
        fetches.let_all_go()
        assert body_of(later) == windows[2].start.isoformat()


def test_close_closes_the_spools_of_bodies_read_ahead() -> None:
    windows = hours(4)
    fetches = Fetches()
    ahead = ReadAhead(3, fetches)
    assert ahead.take(windows) is None
    fetches.wait_started(2)
    read_ahead = windows[1:3]
    ahead.close()
    for window in read_ahead:
        assert fetches.spools[window].closed, f"the spool of {window} was left open"


# ------------------------------------------------------------------------ copy_body


def test_copy_body_spools_to_disk_past_the_memory_bound() -> None:
    body = io.BytesIO(b"x" * (SPOOL_MEMORY_BYTES + 1))
    with new_spool() as spool:
        copy_body(body.read, spool, threading.Event())
        assert spool.read() == body.getvalue()
        assert spool._rolled  # type: ignore[attr-defined]  # SpooledTemporaryFile's own flag


def test_copy_body_stops_when_discarded() -> None:
    cancel = threading.Event()
    cancel.set()
    with new_spool() as spool, pytest.raises(ReadAheadCancelledError):
        copy_body(io.BytesIO(b"data").read, spool, cancel)


def test_a_broken_connection_becomes_a_body_error_with_the_bytes_copied() -> None:
    chunks = iter([b"12345"])

    def read(_size: int) -> bytes:
        chunk = next(chunks, None)
        if chunk is None:
            raise requests.exceptions.ChunkedEncodingError("cut")
        return chunk

    with new_spool() as spool, pytest.raises(BodyError, match="after 5 bytes"):
        copy_body(read, spool, threading.Event())


# -------------------------------------------------------------------- the runner


class Recorder:
    """A window job whose records are the windows' start times, with a message log."""

    def __init__(self, windows: int, depth: int, fetches: Fetches) -> None:
        self.log: list[tuple[str, str]] = []
        #: Every window requested (read directly or read ahead), in order.
        self.requested: list[Window] = []
        #: How many windows were committed at each request of a window.
        self.committed_at_request: dict[Window, list[int]] = {}
        fetches.observe = self.on_request
        self.before_commit: Callable[[Window], None] = lambda _window: None
        self.retried: list[float] = []
        self.planner = WindowPlanner(
            SyncRange(START, START + windows * HOUR), size=HOUR, min_size=HOUR / 4
        )
        self.job = WindowJob(
            stream="network_flow",
            tailnet="-",
            label="network_flow",
            planner=self.planner,
            retry=RetryLoop(
                RetryPolicy(max_attempts=3, initial=1, ceiling=1, sleep=self.retried.append)
            ),
            report=RunReport(),
            logger=logging.getLogger("test_readahead"),
            read=self.read,
            commit=self.commit,
            key=lambda record: record["key"],
            on_end_bound=lambda _record, _window: False,
            is_reread=lambda _record: False,
            read_ahead=ReadAhead(depth, fetches),
            parse=self.parse,
        )

    def on_request(self, window: Window) -> None:
        self.requested.append(window)
        committed = sum(kind == "STATE" for kind, _ in self.log)
        self.committed_at_request.setdefault(window, []).append(committed)

    def read(self, window: Window) -> Iterator[dict[str, Any]]:
        self.on_request(window)
        yield from self.records(window, window.start.isoformat())

    def parse(self, window: Window, spool: BinaryIO) -> Iterator[dict[str, Any]]:
        with spool:
            yield from self.records(window, spool.read().decode())

    @staticmethod
    def records(window: Window, body: str) -> Iterator[dict[str, Any]]:
        assert body == window.start.isoformat(), "a window got another window's body"
        for part in range(3):
            yield {"key": f"{body}/{part}", "window": body}

    def commit(self, window: Window) -> str:
        self.before_commit(window)
        self.log.append(("STATE", window.start.isoformat()))
        return window.end.isoformat()

    def run(self) -> None:
        for record in run_windows(self.job):
            self.log.append(("RECORD", record["window"]))


def test_records_and_states_keep_window_order_with_read_ahead() -> None:
    fetches = Fetches()
    recorder = Recorder(windows=10, depth=4, fetches=fetches)
    recorder.run()
    expected = []
    for window in hours(10):
        expected += [("RECORD", window.start.isoformat())] * 3
        expected.append(("STATE", window.start.isoformat()))
    assert recorder.log == expected
    assert fetches.peak <= 4


def test_a_429_in_read_ahead_retries_that_window_then_slows_down() -> None:
    fetches = Fetches()
    response = requests.Response()
    response.status_code = 429
    windows = hours(16)
    fetches.fail[windows[3]] = RetriableError("HTTP 429", response)
    recorder = Recorder(windows=16, depth=3, fetches=fetches)
    resumed: list[bool] = []

    def before_commit(window: Window) -> None:
        if window == windows[11]:
            # Read-ahead is back: window 12 was queued when window 11 began, so its
            # request starts before window 11 is committed.
            resumed.append(fetches.wait_for(windows[12]))

    recorder.before_commit = before_commit
    recorder.run()
    committed_at = recorder.committed_at_request
    states = [entry[1] for entry in recorder.log if entry[0] == "STATE"]
    assert states == [window.start.isoformat() for window in windows]
    records = [entry[1] for entry in recorder.log if entry[0] == "RECORD"]
    assert records == [w.start.isoformat() for w in windows for _ in range(3)]
    assert len(recorder.retried) == 1
    assert recorder.requested.count(windows[3]) == 2
    # In the cooldown after the 429, each window was requested only once the window
    # before it was committed: one window at a time. (Windows 4-6 were also requested
    # ahead before the 429; those requests were discarded.)
    for index in range(4, 3 + RATE_LIMIT_COOLDOWN_WINDOWS):
        assert index in committed_at[windows[index]], f"window {index} was not re-read"
    for index in range(7, 3 + RATE_LIMIT_COOLDOWN_WINDOWS):
        assert committed_at[windows[index]] == [index], f"window {index} came early"
    assert resumed == [True], "read-ahead did not resume after the cooldown"


def test_a_failed_window_read_ahead_is_halved_and_what_was_read_is_dropped() -> None:
    fetches = Fetches()
    windows = hours(6)
    fetches.fail[windows[2]] = requests.exceptions.ReadTimeout("slow")
    recorder = Recorder(windows=6, depth=2, fetches=fetches)
    recorder.run()
    states = [entry[1] for entry in recorder.log if entry[0] == "STATE"]
    assert states[:2] == [windows[0].start.isoformat(), windows[1].start.isoformat()]
    assert states[2] == windows[2].start.isoformat()
    assert recorder.planner.current() is None
    # The range is covered with no gap: the third hour was read in smaller windows.
    starts = sorted({window.start for window in recorder.requested})
    assert windows[2].start + HOUR / 2 in starts
