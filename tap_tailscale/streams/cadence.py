"""Inventory on its own cadence: a snapshot is skipped while the last one is fresh.

Log streams run every few minutes; refetching 50,000 devices and 100,000 per-device
answers as often is neither polite nor needed. Each inventory stream keeps, in its
partition's state, when its last complete snapshot of the tailnet was taken
(`last_snapshot_at`, the snapshot's `synced_at`). A run sooner than the stream's
interval after it skips the snapshot and says so in the run summary; a snapshot that
failed, was partial or was skipped for a missing scope records nothing, so the next run
tries again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_tailscale.timeutil import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping
    from datetime import datetime, timedelta

SNAPSHOT_KEY = "last_snapshot_at"


def last_snapshot(state: Mapping[str, Any]) -> datetime | None:
    """When the partition's last complete snapshot was taken, if the state says."""
    value = state.get(SNAPSHOT_KEY)
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:  # InvalidTimestampError is one
        return None  # an unreadable mark only costs one snapshot


def fresh_until(state: Mapping[str, Any], interval: timedelta, now: datetime) -> datetime | None:
    """When the last snapshot stops being fresh, if it is still fresh at `now`, else None.

    A mark in the future (a clock set back) does not count as fresh.
    """
    taken = last_snapshot(state)
    if taken is None or interval.total_seconds() <= 0 or taken > now:
        return None
    due = taken + interval
    return due if now < due else None


def mark_snapshot(state: MutableMapping[str, Any], taken: datetime | str) -> None:
    """Record a complete snapshot taken at `taken`: its records' `synced_at` (the API's
    own time, so a replayed run writes the same state), or the run's clock when it held
    no record."""
    state[SNAPSHOT_KEY] = taken if isinstance(taken, str) else format_timestamp(taken)
