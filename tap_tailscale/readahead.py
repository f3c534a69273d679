"""Window read-ahead: the next windows' requests run while this one is written out.

Measured, not assumed: waiting on a socket releases the GIL, decoding JSON does not.
So threads do only the waiting part. Each read-ahead thread sends one window's request
and copies its body into a spool (memory up to SPOOL_MEMORY_BYTES, then a temporary
file), and the main thread parses, shapes and writes every record as before, in window
order. Memory is therefore bounded by depth x SPOOL_MEMORY_BYTES whatever the bodies
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

from tap_tailscale.parsing import BodyError
from tap_tailscale.request import DeadlineExceededError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_tailscale.windows import Window

# Bodies up to this size stay in memory; larger ones continue on disk.
SPOOL_MEMORY_BYTES = 2 * 1024 * 1024
COPY_BLOCK_BYTES = 256 * 1024
# After a 429, windows are read one at a time for this many windows.
RATE_LIMIT_COOLDOWN_WINDOWS = 8


class ReadAheadCancelledError(Exception):
    """A window read ahead was discarded before its body was fully copied."""


def new_spool() -> BinaryIO:
    """An empty spool for one body."""
    return cast("BinaryIO", tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES))


@dataclass
class ReadAhead:
    """Keeps up to `depth` requests in flight for the windows after the one being written.

    The window being written has its whole body already, so its request no longer counts;
    depth 1 reads one window at a time (no read-ahead at all).
    """

    depth: int
    #: Sends the window's request and copies its body into a spool; may raise.
    fetch: Callable[[Window, threading.Event], BinaryIO]
    _pool: ThreadPoolExecutor | None = None
    _pending: dict[Window, tuple[Future[BinaryIO], threading.Event]] = field(default_factory=dict)
    _cooldown: int = 0

    @property
    def active_depth(self) -> int:
        """The depth in force now (1 during a rate-limit cooldown)."""
        return 1 if self._cooldown > 0 else self.depth

    def schedule(self, windows: list[Window]) -> None:
        """Start fetching the windows after the current one, up to the active depth."""
        if self.active_depth <= 1:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.depth, thread_name_prefix="read-ahead")
        for window in windows[1 : self.active_depth + 1]:
            if window not in self._pending:
                cancel = threading.Event()
                self._pending[window] = (self._pool.submit(self.fetch, window, cancel), cancel)

    def take(self, window: Window) -> Future[BinaryIO] | None:
        """The fetch of `window` if it was read ahead; stale ones before it are dropped."""
        found = self._pending.pop(window, None)
        for stale in [w for w in self._pending if w.start < window.start]:
            self._drop(stale)
        if self._cooldown > 0:
            self._cooldown -= 1
        return found[0] if found else None

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

    def _drop(self, window: Window) -> None:
        future, cancel = self._pending.pop(window)
        cancel.set()
        future.add_done_callback(_close_spool)


def _close_spool(future: Future[BinaryIO]) -> None:
    if not future.cancelled() and future.exception() is None:
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
