"""The `admin_audit` replication key: fixed-width UTC event time, `|`, event id."""

from __future__ import annotations

from tap_tailscale.timeutil import normalize_timestamp


def make_cursor(event_time: str, event_id: str) -> str:
    """Replication key that sorts in event order as a plain string.

    Raises ValueError (InvalidTimestampError) when `event_time` is not RFC 3339.
    """
    return f"{normalize_timestamp(event_time)}|{event_id}"
