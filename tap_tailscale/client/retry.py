"""The one retry policy: which failures are retried, how often, and how long to wait.

A window read (the request and its whole body) is the unit that is retried: a 429,
a 5xx, a reset or a body that breaks off all cost one attempt of the same budget,
`max_attempts`. When the budget is spent the (stream, tailnet) stops cleanly and the
next run resumes at that window, so a persistent failure costs `max_attempts`
requests, not a product of nested loops. Waits come from `backoff`'s exponential
generator with equal jitter, and a server's Retry-After wins (capped).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import backoff

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class RetryPolicy:
    """How many attempts a window gets and how long to wait between them."""

    max_attempts: int
    initial: float
    ceiling: float
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based)."""
        retry_after = retry_after_seconds(error, self.wall_clock())
        if retry_after is not None:
            return min(retry_after, self.ceiling)
        waits = backoff.expo(base=2, factor=self.initial, max_value=self.ceiling)
        next(waits)  # backoff's generators start with a priming value
        for _ in range(attempt - 1):
            next(waits)
        delay = float(next(waits))
        # Equal jitter: at least half the delay, so retries spread without bunching up.
        return delay / 2 + self.rng.uniform(0, delay / 2)


def retry_after_seconds(error: BaseException | None, now: datetime) -> float | None:
    """Retry-After as seconds, from either its delta-seconds or its HTTP-date form."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)
