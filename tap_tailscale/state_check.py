"""Checks of the state and catalog a run is given, before anything is read.

A broken state file must end in one line naming the file, not a traceback after
some streams already synced; and a bookmark in the future would make every later run
read nothing, silently, so it is refused.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_tailscale.errors import ConfigError
from tap_tailscale.timeutil import utc_now

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime
    from typing import IO

    from singer_sdk.streams import Stream

# Clocks drift; a bookmark a little ahead of this machine's clock is not an error.
_CLOCK_SKEW = timedelta(minutes=5)


def read_json_input(handle: IO[str] | None, what: str) -> dict[str, Any] | None:
    """Read and close a JSON object file given on the command line."""
    if handle is None:
        return None
    name = getattr(handle, "name", what)
    if handle.closed:  # a CLI callback may have consumed and closed it already
        text = Path(name).read_text()
    else:
        with handle:
            text = handle.read()
    if not text.strip():
        raise ConfigError(f"the {what} file {name} is empty; pass a JSON object or leave it out.")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the {what} file {name} is not valid JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"the {what} file {name} holds a JSON {type(value).__name__}, not an object."
        )
    return value


def check_state(
    state: Mapping[str, Any], streams: Iterable[Stream], now: datetime | None = None
) -> None:
    """Raise ConfigError with one line if a stream's stored bookmark cannot be used."""
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise ConfigError("the state's `bookmarks` is not an object; fix or clear the state.")
    limit = (now or utc_now()) + _CLOCK_SKEW
    for stream in streams:
        stream_state = bookmarks.get(stream.name)
        if stream_state is None:
            continue
        if not isinstance(stream_state, dict):
            raise ConfigError(
                f"the state of {stream.name} is not an object; fix or clear the state."
            )
        partitions = stream_state.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            raise ConfigError(
                f"the state of {stream.name} has malformed partitions; fix or clear the state."
            )
        for partition in [stream_state, *partitions]:
            _check_bookmark(stream, partition, limit)


def _check_bookmark(stream: Stream, partition: Mapping[str, Any], limit: datetime) -> None:
    value = partition.get("replication_key_value")
    bookmark_time = getattr(stream, "bookmark_time", None)
    if value is None or bookmark_time is None:
        return
    where = f"{stream.name} {partition.get('context') or ''}".strip()
    try:
        moment = bookmark_time(str(value))
    except ValueError:  # InvalidTimestampError is one
        raise ConfigError(
            f"the state's bookmark for {where} is {value!r}, which is not a bookmark this tap "
            "writes; fix or clear the state (meltano state clear)."
        ) from None
    if moment > limit:
        raise ConfigError(
            f"the state's bookmark for {where} is {value}, in the future: every run would "
            "read nothing. Fix or clear the state (meltano state clear)."
        )
