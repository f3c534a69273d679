"""One timestamp format for records, bookmarks and replication keys.

The API sends RFC 3339 with up to nine fractional digits, and Go trims trailing zeros
(`...05.12Z` sorts after `...05.123Z` as a string), while the SDK and this tap compare
bookmarks as strings. Every timestamp the tap emits is therefore rewritten to UTC with
at least nine fractional digits: the instant and every digit the API sent are kept, only
zeros are added (and a numeric offset becomes `Z`), so values sort in time order.

Bookmarks of earlier versions have six digits; `widen_bookmark` reads them in the new
form, so an upgrade neither re-reads history nor skips an event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from datetime import date as _date

import pendulum

from tap_tailscale.errors import InvalidTimestampError

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
FRACTION_DIGITS = 9
# Width of a normalized timestamp: "2024-01-01T00:00:00.000000000Z".
TIMESTAMP_WIDTH = 20 + FRACTION_DIGITS + 1


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
    """Format an aware datetime as fixed-width UTC with nine fractional digits."""
    # isoformat pads years below 1000 to four digits; strftime's %Y does not on Linux.
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{text}000Z"


def normalize_timestamp(value: str) -> str:
    """Rewrite an RFC 3339 string to the fixed-width UTC form, keeping every digit sent.

    Raises InvalidTimestampError for anything that is not a timestamp.
    """
    # Hot path, several times a record: one C-speed match of the UTC form Go writes (it
    # also bounds hours, minutes and seconds), a date check once per distinct day, and
    # the zeros to add told by the length alone.
    if (
        type(value) is str
        and _go_utc(value) is not None
        and (value[:10] in _valid_dates or _check_date(value[:10]))
    ):
        size = len(value)
        return value if size >= TIMESTAMP_WIDTH else value[:-1] + _PADDING[size]
    return _offset_to_utc(value)


def _offset_to_utc(value: str) -> str:
    """normalize_timestamp for a numeric offset: the offset moves whole minutes only, so
    the fraction digits are carried over untouched (datetime would cut them to six)."""
    match = _WITH_OFFSET.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        # Not RFC 3339 (or a form Python reads but RFC 3339 does not): let the parser say.
        parse_timestamp(value)
        raise InvalidTimestampError(f"not an RFC 3339 timestamp: {value!r}")
    offset = "+00:00" if match[3] in "Zz" else match[3]
    try:
        whole = parse_timestamp(f"{match[1][:10]}T{match[1][11:]}{offset}")
    except InvalidTimestampError:
        raise InvalidTimestampError(f"not an RFC 3339 timestamp: {value!r}") from None
    digits = match[2] or ""
    if len(digits) < FRACTION_DIGITS:
        digits = digits.ljust(FRACTION_DIGITS, "0")
    return f"{whole.replace(tzinfo=None).isoformat(timespec='seconds')}.{digits}Z"


def widen_bookmark(value: str) -> str:
    """A stored bookmark (`<time>` or `<time>|<rest>`) with its time in today's width.

    Bookmarks of earlier versions carry six fractional digits; as strings they would
    sort after every nine-digit value of the same microsecond. Values that are not
    timestamps come back unchanged.
    """
    moment, separator, rest = value.partition("|")
    try:
        return normalize_timestamp(moment) + separator + rest
    except InvalidTimestampError:
        return value


# A UTC time with an optional run of fraction digits, as Go formats RFC 3339 in UTC.
_go_utc = re.compile(
    r"\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z", re.ASCII
).fullmatch
# What replaces the `Z` of a matched value shorter than full width, by its length.
_PADDING = {
    len("2024-01-01T00:00:00Z"): "." + "0" * FRACTION_DIGITS + "Z",
    **{TIMESTAMP_WIDTH - missing: "0" * missing + "Z" for missing in range(1, FRACTION_DIGITS)},
}
# Any RFC 3339 time: date and time, fraction digits, then Z or a numeric offset.
_WITH_OFFSET = re.compile(
    r"(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)", re.ASCII
)
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
