"""The window runner: reads one (stream, tailnet) range window by window.

It owns the loop and nothing else: which window comes next (the planner), what a
failure means (halve, retry, or stop), dropping records a previous window already
emitted on a shared bound, and committing the bookmark once a window is complete.
Reading a window is a callable it is given, so the runner is tested without HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import requests
import urllib3

from tap_tailscale.errors import (
    RETRIABLE,
    BodyError,
    DeadlineExceededError,
    MissingLogsError,
    ResponseTooLargeError,
    RetriableError,
    SkipPartitionError,
    WindowTooLargeError,
    describe,
)

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Generator, Iterator
    from typing import BinaryIO

    from tap_tailscale.client import RetryLoop
    from tap_tailscale.logs.readahead import ReadAhead
    from tap_tailscale.logs.windows import Window, WindowPlanner
    from tap_tailscale.report import RunReport

Record = dict[str, Any]


@dataclass
class WindowJob:
    """What the runner needs to read one partition."""

    stream: str
    tailnet: str
    #: Every stream this read feeds, for messages (the stream itself and its companions).
    label: str
    planner: WindowPlanner
    #: The client's retry loop: one budget of attempts per window.
    retry: RetryLoop
    report: RunReport
    logger: logging.Logger
    #: Every record of a window, in order; raises on failure (see RETRIABLE).
    read: Callable[[Window], Iterator[Record]]
    #: Called once every record of a window is out; moves the bookmark, returns it.
    commit: Callable[[Window], str]
    #: A record's deterministic key.
    key: Callable[[Record], str]
    #: True for a record on or after the window's end bound (it may come back next time).
    on_end_bound: Callable[[Record, Window], bool]
    #: True for a record the previous run already emitted (the overlap re-read).
    is_reread: Callable[[Record], bool]
    #: Fetches later windows while this one is written; None reads one at a time.
    read_ahead: ReadAhead | None = None
    #: Every record of a window whose body was read ahead into a spool.
    parse: Callable[[Window, BinaryIO], Iterator[Record]] | None = None


class Outcome(Enum):
    """How a partition's read ended, once its records are exhausted."""

    #: Every window was read and committed.
    FINISHED = "finished"
    #: A window failed every attempt; the report says so and the next run resumes there.
    HALTED = "halted"
    #: The partition cannot be read (SkipPartitionError); `WindowRun.reason` says why.
    SKIPPED = "skipped"


@dataclass
class WindowRun:
    """The records of one partition's range; `outcome` is set once they are exhausted."""

    job: WindowJob
    #: None until iteration ends (or if it is abandoned part way).
    outcome: Outcome | None = None
    reason: str = ""

    def __iter__(self) -> Iterator[Record]:
        try:
            self.outcome = yield from _run(self.job)
        except SkipPartitionError as exc:
            self.outcome, self.reason = Outcome.SKIPPED, str(exc)
        finally:
            if self.job.read_ahead is not None:
                self.job.read_ahead.close()


def run_windows(job: WindowJob) -> WindowRun:
    """Every record of the partition's range, committing window by window."""
    return WindowRun(job)


def _records(job: WindowJob, window: Window) -> Iterator[Record]:
    ahead = job.read_ahead
    if ahead is None or job.parse is None or not ahead.enabled:
        return job.read(window)
    fetched = ahead.take(job.planner.upcoming(ahead.windows_ahead + 1))
    return job.read(window) if fetched is None else job.parse(window, fetched.result())


def _run(job: WindowJob) -> Generator[Record, None, Outcome]:
    boundary_keys: set[str] = set()
    planner = job.planner
    record_key, on_end_bound, is_reread = job.key, job.on_end_bound, job.is_reread
    while (window := planner.current()) is not None:
        counts = [0, 0]
        window_keys: set[str] = set()
        try:
            for record in _records(job, window):
                key = record_key(record)
                if key in boundary_keys:  # an event exactly on a shared bound
                    continue
                if on_end_bound(record, window):
                    window_keys.add(key)
                counts[is_reread(record)] += 1
                yield record
        except (WindowTooLargeError, *RETRIABLE) as exc:
            if isinstance(exc, MissingLogsError):
                job.report.body_without_logs(job.stream)
            _discard_read_ahead(job, exc)
            if planner.can_shrink and _smaller_window_helps(exc):
                _log_shrink(job, window, exc, planner.shrink().total_seconds())
                continue
            if not _retry_or_halt(job, window, exc):
                return Outcome.HALTED
            continue
        job.retry.succeeded()
        boundary_keys = window_keys
        planner.complete(window)
        bookmark = job.commit(window)
        job.report.window_done(job.stream, new=counts[0], reread=counts[1])
        job.logger.info(
            "%s [tailnet %s]: window %s done, %d new and %d re-read records; bookmark now %s.",
            job.stream,
            job.tailnet,
            window,
            counts[0],
            counts[1],
            bookmark,
        )
    return Outcome.FINISHED


def _discard_read_ahead(job: WindowJob, error: BaseException) -> None:
    """A failed window makes what was read ahead suspect: drop it, and slow down on 429."""
    if job.read_ahead is None:
        return
    if isinstance(error, RetriableError) and error.is_rate_limit:
        job.read_ahead.rate_limited()
    else:
        job.read_ahead.discard()


def _smaller_window_helps(error: BaseException) -> bool:
    """A gateway error, a timeout or an oversized body: half the window may pass."""
    if isinstance(error, WindowTooLargeError | ResponseTooLargeError):
        return True
    # A timeout while the body streams reaches here wrapped in a BodyError.
    cause = error.__cause__ if isinstance(error, BodyError) else error
    return isinstance(
        cause,
        requests.exceptions.ReadTimeout
        | urllib3.exceptions.ReadTimeoutError
        | DeadlineExceededError,
    )


def _log_shrink(job: WindowJob, window: Window, error: BaseException, seconds: float) -> None:
    job.logger.warning(
        "%s [tailnet %s]: window %s failed with %s; halving windows to %d s.",
        job.stream,
        job.tailnet,
        window,
        error,
        seconds,
    )


def _retry_or_halt(job: WindowJob, window: Window, error: BaseException) -> bool:
    """After a failed attempt: wait and return True, or stop and return False."""
    reason = describe(error)
    retry = job.retry
    max_attempts = retry.policy.max_attempts

    def announce(delay: float) -> None:
        job.logger.warning(
            "%s [tailnet %s]: window %s failed (%s); trying again in %.1f s (attempt %d of %d).",
            job.stream,
            job.tailnet,
            window,
            reason,
            delay,
            retry.failures + 1,
            max_attempts,
        )

    if retry.again(error, on_wait=announce):
        return True
    job.report.partition_halted(job.label, job.tailnet, window.start, reason)
    job.logger.error(
        "%s [tailnet %s]: window %s failed %d times; stopping. The next run resumes at %s. "
        "Last error: %s",
        job.label,
        job.tailnet,
        window,
        retry.failures,
        window.start.isoformat(),
        reason,
    )
    return False
