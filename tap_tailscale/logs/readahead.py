"""Window read-ahead: the next windows' requests run while this one is written out.

Measured, not assumed: waiting on a socket releases the GIL, decoding JSON does not.
So threads do only the waiting part. A pool of `depth` threads sends the windows'
requests in window order and copies each body into a spool (memory up to
SPOOL_MEMORY_BYTES, then a temporary file); the main thread parses, shapes and writes
every record as before, in window order. The pool's size is the bound on requests in
flight, so it holds whatever the main thread is doing: as soon as one body is complete
the next window's request starts. Only a partition's first window (or the first after a
discard) is read by the main thread itself, streaming, with depth - 1 windows queued
beside it. Memory is bounded by (depth + 1) x SPOOL_MEMORY_BYTES whatever the bodies
weigh, and a kill -9 loses nothing: no STATE covers a window that was only read ahead.

A shrink, a 429 or a stop discards everything read ahead (the spools are closed), and a
429 also reads one window at a time for a while, so a rate limit is not hammered.
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from tap_tailscale.errors import BodyError, DeadlineExceededError, ReadAheadCancelledError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_tailscale.logs.windows import Window

# Bodies up to this size stay in memory; larger ones continue on disk.
SPOOL_MEMORY_BYTES = 2 * 1024 * 1024
COPY_BLOCK_BYTES = 256 * 1024
# After a 429, windows are read one at a time for this many windows.
RATE_LIMIT_COOLDOWN_WINDOWS = 8


def new_spool() -> BinaryIO:
    """An empty spool for one body."""
    return cast("BinaryIO", tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES))


@dataclass
class ReadAhead:
    """Keeps up to `depth` window requests in flight, the current window's included.

    Depth 1 reads one window at a time, streaming its body (no read-ahead at all).
    """

    depth: int
    #: Sends the window's request and copies its body into a spool; may raise.
    fetch: Callable[[Window, threading.Event], BinaryIO]
    _pool: ThreadPoolExecutor | None = None
    _pending: dict[Window, tuple[Future[BinaryIO], threading.Event]] = field(default_factory=dict)
    #: Fetches discarded while running: they end at their next block.
    _draining: set[Future[BinaryIO]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cooldown: int = 0

    @property
    def enabled(self) -> bool:
        """False at depth 1: the runner then reads each window itself."""
        return self.depth > 1

    @property
    def windows_ahead(self) -> int:
        """How many windows after the current one to queue (none during a cooldown)."""
        return 0 if self._cooldown > 0 else self.depth

    def take(self, upcoming: list[Window]) -> Future[BinaryIO] | None:
        """The fetch of `upcoming[0]`, the current window; queues the windows after it.

        None tells the caller to read the current window itself, streaming its body so
        that parsing overlaps the transfer: that happens only when no request of this
        partition is in flight (the first window, or once a discard has drained), and
        then `depth - 1` windows are queued beside it. Otherwise the pool's `depth`
        threads are the bound, and one more window than the depth is queued: while the
        current window is written out, every thread is already on a later one. Windows
        no longer planned (a shrink changed them) are dropped.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.depth, thread_name_prefix="read-ahead")
        ahead = self.windows_ahead
        for stale in [window for window in self._pending if window not in upcoming[: ahead + 1]]:
            self._drop(stale)
        current = upcoming[0]
        direct = current not in self._pending and self._idle()
        for window in upcoming[1:ahead] if direct else upcoming[: ahead + 1]:
            if window not in self._pending:
                cancel = threading.Event()
                self._pending[window] = (self._pool.submit(self.fetch, window, cancel), cancel)
        if self._cooldown > 0:
            self._cooldown -= 1
        return None if direct else self._pending.pop(current)[0]

    def rate_limited(self) -> None:
        """A 429: discard what was read ahead and read one window at a time for a while."""
        self._cooldown = RATE_LIMIT_COOLDOWN_WINDOWS
        self.discard()

    def discard(self) -> None:
        """Drop every window read ahead (after a shrink, a 429 or a stop)."""
        for window in list(self._pending):
            self._drop(window)

    def close(self) -> None:
        """Discard everything and stop the threads."""
        self.discard()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _idle(self) -> bool:
        with self._lock:
            return not self._pending and not self._draining

    def _drop(self, window: Window) -> None:
        future, cancel = self._pending.pop(window)
        cancel.set()
        if future.cancel():  # still queued: never sent
            return
        with self._lock:
            self._draining.add(future)
        future.add_done_callback(self._drained)

    def _drained(self, future: Future[BinaryIO]) -> None:
        with self._lock:
            self._draining.discard(future)
        if future.exception() is None:
            future.result().close()


def copy_body(read: Callable[[int], bytes], spool: BinaryIO, cancel: threading.Event) -> None:
    """Copy a body into its spool until it ends, stopping early if discarded."""
    copied = 0
    while True:
        if cancel.is_set():
            raise ReadAheadCancelledError
        try:
            chunk = read(COPY_BLOCK_BYTES)
        except (BodyError, DeadlineExceededError):
            raise
        except Exception as exc:  # urllib3 and requests raise several types for a cut body
            raise BodyError(
                f"the connection broke after {copied:,} bytes ({type(exc).__name__})"
            ) from exc
        if not chunk:
            break
        spool.write(chunk)
        copied += len(chunk)
    spool.seek(0)
