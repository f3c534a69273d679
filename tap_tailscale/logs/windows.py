"""Time-window planning: what range a run reads, and in which windows.

The API has no pagination: each call returns every event between `start` and `end`
in one body. The tap therefore chooses the windows itself. This module is pure (no
I/O, no SDK) so the arithmetic is unit-tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tap_tailscale.timeutil import floor_to_second


@dataclass(frozen=True)
class Window:
    """One API call's time range. Bounds are whole seconds."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        """How long the window is."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()}]"


@dataclass(frozen=True)
class SyncRange:
    """The span one run reads for one (stream, tailnet), and any part lost to retention."""

    start: datetime
    end: datetime
    unavailable: tuple[datetime, datetime] | None = None

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to read yet (e.g. the lag has not passed)."""
        return self.start >= self.end


def plan_range(
    *,
    now: datetime,
    bookmark: datetime | None,
    start_date: datetime | None,
    end_date: datetime | None,
    retention: timedelta,
    lag: timedelta,
    overlap: timedelta,
) -> SyncRange:
    """Decide where a run starts and ends.

    - A run with a bookmark re-reads `overlap` before it, for records that arrived late.
    - A first run starts at `start_date`, or at the retention limit when there is none.
    - Nothing older than the retention limit exists, so the start is clamped to it and the
      clamped-off span is reported (one warning beats a silent gap).
    - The end is `end_date` when given, and never later than `now - lag`, since the newest
      records are still arriving.
    """
    # A minute of slack keeps the first window inside retention even if the server's
    # clock is a little ahead of ours.
    oldest_available = floor_to_second(now - retention + timedelta(minutes=1))
    if bookmark is not None:
        wanted = bookmark - overlap
        if start_date is not None and start_date > wanted:
            wanted = start_date
    elif start_date is not None:
        wanted = start_date
    else:
        wanted = oldest_available
    wanted = floor_to_second(wanted)

    unavailable = None
    start = wanted
    if wanted < oldest_available:
        unavailable = (wanted, oldest_available)
        start = oldest_available

    latest = floor_to_second(now - lag)
    end = latest if end_date is None else min(floor_to_second(end_date), latest)
    return SyncRange(start=start, end=end, unavailable=unavailable)


class WindowPlanner:
    """Hands out consecutive windows over a range, shrinking and growing their size.

    A window that fails because it is too big (502, 504, a read timeout, an oversized
    body) is halved and retried, down to `min_size`. After `grow_after` successes in a
    row the size doubles again, back up to the configured size, so one bad hour does not
    slow the rest of a backfill.
    """

    def __init__(
        self,
        sync_range: SyncRange,
        *,
        size: timedelta,
        min_size: timedelta,
        grow_after: int = 2,
    ) -> None:
        if size <= timedelta(0):
            raise ValueError("window size must be positive")
        self.range = sync_range
        self.max_size = size
        self.min_size = min(min_size, size)
        self.size = size
        self.grow_after = grow_after
        self.cursor = sync_range.start
        self._successes = 0

    def current(self) -> Window | None:
        """The window to read next, or None when the range is done."""
        if self.cursor >= self.range.end:
            return None
        end = min(self.cursor + self.size, self.range.end)
        return Window(self.cursor, end)

    def upcoming(self, count: int) -> list[Window]:
        """The next `count` windows if every one succeeds (for reading ahead)."""
        ahead = WindowPlanner(
            SyncRange(self.cursor, self.range.end),
            size=self.max_size,
            min_size=self.min_size,
            grow_after=self.grow_after,
        )
        ahead.size, ahead._successes = self.size, self._successes
        windows: list[Window] = []
        while len(windows) < count and (window := ahead.current()) is not None:
            windows.append(window)
            ahead.complete(window)
        return windows

    @property
    def can_shrink(self) -> bool:
        """False once the window is at its minimum size."""
        return self.size > self.min_size

    def shrink(self) -> timedelta:
        """Halve the window size (not below the minimum); return the new size."""
        halved = timedelta(seconds=max(int(self.size.total_seconds()) // 2, 1))
        self.size = max(halved, self.min_size)
        self._successes = 0
        return self.size

    def complete(self, window: Window) -> None:
        """Record that `window` was fully read; move past it and maybe grow."""
        self.cursor = window.end
        self._successes += 1
        if self.size < self.max_size and self._successes >= self.grow_after:
            self.size = min(self.size * 2, self.max_size)
            self._successes = 0


def merge_ranges(ranges: list[SyncRange]) -> SyncRange:
    """One range covering every non-empty range (streams that share one read)."""
    spans = [span for span in ranges if not span.is_empty] or ranges[:1]
    return SyncRange(start=min(span.start for span in spans), end=max(span.end for span in spans))
