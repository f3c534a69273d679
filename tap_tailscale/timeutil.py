"""One timestamp format for bookmarks and replication keys.

The SDK compares bookmarks as strings, and Go trims trailing zeros from RFC 3339
fractions (`...05.12Z` sorts after `...05.123Z`). Every timestamp the tap emits as a
replication key is therefore rewritten to UTC with exactly six fractional digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class InvalidTimestampError(ValueError):
    """A value that should be an RFC 3339 timestamp is not one."""


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime (fractions past µs are cut)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise InvalidTimestampError(f"not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidTimestampError(f"timestamp has no UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as fixed-width UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: str) -> str:
    """Rewrite an RFC 3339 string to the fixed-width UTC form, cheaply when it is already UTC.

    Raises InvalidTimestampError for anything that is not a timestamp.
    """
    # Hot path, several times a record: one C-speed match for the UTC form Go writes, and
    # a parse of the date and time only once per distinct second.
    match = _GO_UTC.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        head, digits = match.groups()
        if head in _valid_seconds or _check_seconds(head, value):
            if digits is not None and len(digits) == 6:
                return value
            return f"{head}.{(digits or '')[:6].ljust(6, '0')}Z"
    return format_timestamp(parse_timestamp(value))


# UTC seconds with an optional run of fraction digits, as Go formats RFC 3339 in UTC.
_GO_UTC = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", re.ASCII)
# Seconds already known to be real dates and times; records of one window share many.
_valid_seconds: dict[str, None] = {}
_VALID_SECONDS_MAX = 4096


def _check_seconds(head: str, value: str) -> bool:
    """Check that `head` (`YYYY-MM-DDTHH:MM:SS`) is a real date and time; remember it."""
    try:
        datetime.fromisoformat(head)
    except ValueError as exc:
        raise InvalidTimestampError(f"not an RFC 3339 timestamp: {value!r}") from exc
    if len(_valid_seconds) >= _VALID_SECONDS_MAX:
        _valid_seconds.clear()
    _valid_seconds[head] = None
    return True


def normalize_optional_timestamp(value: str | None) -> str | None:
    """Like normalize_timestamp, but Go's zero time and missing values become None."""
    if value is None or value in ("", GO_ZERO_TIME):
        return None
    return normalize_timestamp(value)


def format_query_time(moment: datetime) -> str:
    """Format a window bound for the API: whole-second UTC, the form Tailscale's Go client sends."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_to_second(moment: datetime) -> datetime:
    """Drop sub-second precision so window bounds are exact in the API's whole-second form."""
    return moment.replace(microsecond=0)


def utc_now() -> datetime:
    """Now, as an aware UTC datetime (a seam for tests)."""
    return datetime.now(UTC)


def seconds(value: float) -> timedelta:
    """A timedelta of `value` seconds."""
    return timedelta(seconds=value)
