"""One timestamp format for bookmarks and replication keys.

The SDK compares bookmarks as strings, and Go trims trailing zeros from RFC 3339
fractions (`...05.12Z` sorts after `...05.123Z`). Every timestamp the tap emits as a
replication key is therefore rewritten to UTC with exactly six fractional digits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
_SECONDS_WIDTH = len("2024-01-01T00:00:00")


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
    if (
        isinstance(value, str)
        and value.endswith("Z")
        and len(value) >= _SECONDS_WIDTH + 1
        and value[10] == "T"
    ):
        head = value[:_SECONDS_WIDTH]
        rest = value[_SECONDS_WIDTH:-1]
        fraction = None
        if rest == "":
            fraction = "000000"
        elif rest[0] == "." and rest[1:].isdigit():
            fraction = rest[1:7].ljust(6, "0")
        if fraction is not None:
            try:
                datetime.fromisoformat(head)  # C-speed check that the date is real
            except ValueError as exc:
                raise InvalidTimestampError(f"not an RFC 3339 timestamp: {value!r}") from exc
            return f"{head}.{fraction}Z"
    return format_timestamp(parse_timestamp(value))


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
