"""Many small requests, a bounded number at a time, answers in order.

The per-device streams ask one question per device: 50,000 requests on a big tailnet.
They run on a few threads, at most `limit` at once; the limit halves (down to 1) on
each HTTP 429, so a rate-limited run slows down instead of failing. At most two answers
per thread wait to be taken, so memory stays flat whatever the number of devices, and
answers come back in the order asked, so a run's output is deterministic. A request
that fails comes back as its exception: one device's failure never stops the others.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator
    from concurrent.futures import Future

K = TypeVar("K")
R = TypeVar("R")


class AdaptiveLimit:
    """At most `limit` holders at once; `throttled` halves the limit, never below 1."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._busy = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `limit` slots while the block runs."""
        with self._changed:
            while self._busy >= self.limit:
                self._changed.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify()

    def throttled(self) -> int | None:
        """Halve the limit after a 429; the new limit, or None if it was already 1."""
        with self._changed:
            if self.limit == 1:
                return None
            self.limit = max(1, self.limit // 2)
            return self.limit


def fan_out(
    keys: Iterable[K], work: Callable[[K], R], limit: AdaptiveLimit, workers: int
) -> Generator[tuple[K, R | Exception], None, None]:
    """(key, work(key) or the exception it raised) for every key, in the keys' order."""
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="per-device")
    pending: deque[tuple[K, Future[R | Exception]]] = deque()
    try:
        for key in keys:
            pending.append((key, pool.submit(_guarded, work, limit, key)))
            if len(pending) >= 2 * workers:
                done_key, future = pending.popleft()
                yield done_key, future.result()
        while pending:
            done_key, future = pending.popleft()
            yield done_key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _guarded(work: Callable[[K], R], limit: AdaptiveLimit, key: K) -> R | Exception:
    with limit.slot():
        try:
            return work(key)
        except Exception as exc:  # one key's failure is its answer, not the run's
            return exc
