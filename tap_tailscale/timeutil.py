"""One timestamp format for bookmarks and replication keys.

The SDK compares bookmarks as strings, and Go trims trailing zeros from RFC 3339
fractions (`...05.12Z` sorts after `...05.123Z`). Every timestamp the tap emits as a
replication key is therefore rewritten to UTC with exactly six fractional digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from datetime import date as _date

import pendulum

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
    # isoformat pads years below 1000 to four digits; strftime's %Y does not on Linux.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def normalize_timestamp(value: str) -> str:
    """Rewrite an RFC 3339 string to the fixed-width UTC form, cheaply when it is already UTC.

    Raises InvalidTimestampError for anything that is not a timestamp.
    """
    # Hot path, several times a record: one C-speed match of the UTC form Go writes (it
    # also bounds hours, minutes and seconds), and a date check once per distinct day.
    match = _GO_UTC.fullmatch(value) if isinstance(value, str) else None
    if match is not None and (match[1] in _valid_dates or _check_date(match[1])):
        digits = match[2]
        if digits is not None and len(digits) == 6:
            return value
        return f"{value[:19]}.{(digits or '')[:6].ljust(6, '0')}Z"
    return format_timestamp(parse_timestamp(value))


# A UTC time with an optional run of fraction digits, as Go formats RFC 3339 in UTC.
_GO_UTC = re.compile(r"(\d{4}-\d\d-\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(\d+))?Z", re.ASCII)
# Dates already known to be real; a window's records share a handful.
_valid_dates: set[str] = set()


def _check_date(date: str) -> bool:
    """Whether `date` (`YYYY-MM-DD`) is a real date; remembered if so."""
    try:
        _date.fromisoformat(date)
    except ValueError:
        return False
    if len(_valid_dates) >= 1024:
        _valid_dates.clear()
    _valid_dates.add(date)
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


def parse_setting_time(value: str) -> datetime:
    """A date or time from the settings (ISO 8601, any offset; a date is its midnight UTC)."""
    try:
        parsed = pendulum.parse(value)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
        raise InvalidTimestampError(f"not a date or time: {value!r}") from exc
    if not isinstance(parsed, datetime):
        raise InvalidTimestampError(f"not a date or time: {value!r}")
    return datetime.fromtimestamp(parsed.timestamp(), tz=UTC)
