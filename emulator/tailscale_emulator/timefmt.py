"""RFC 3339 parsing and Go-style formatting at nanosecond resolution."""

from __future__ import annotations

import calendar
import functools
import re
import time
from datetime import UTC, datetime, timedelta

NS_PER_SECOND = 1_000_000_000
ZERO_TIME = "0001-01-01T00:00:00Z"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a timezone (UTC)")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def parse_rfc3339_ns(text: str) -> int | None:
    """Epoch nanoseconds of an RFC 3339 timestamp, or None if it is not one.

    Like Go's time.Parse(time.RFC3339, ...): any number of fractional digits, `Z` or a
    numeric offset. Digits beyond nanoseconds are dropped.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # range check only
    except ValueError:
        return None
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60 * (1 if m.group(9) == "+" else -1)
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    return seconds * NS_PER_SECOND + int(frac)


@functools.lru_cache(maxsize=16384)
def second_prefix(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def format_go(ns: int) -> str:
    """RFC 3339 with trailing fractional zeros trimmed, as Go's RFC3339Nano prints."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    if frac == 0:
        return second_prefix(seconds) + "Z"
    return f"{second_prefix(seconds)}.{f'{frac:09d}'.rstrip('0')}Z"


@functools.lru_cache(maxsize=4096)
def minute_prefix(minute: int) -> str:
    """`YYYY-MM-DDTHH:MM:` of an epoch minute; a C-level cache hit beats strftime."""
    return time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
