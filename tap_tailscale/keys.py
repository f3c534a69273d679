"""Deterministic record keys.

Tailscale's logs carry no unique id. Windows overlap (the re-read overlap, and bounds
that may be inclusive), so the same event is read more than once; a key computed from
content lets a target upsert it into one row. blake2b over a small canonical tuple is
cheap enough for hundreds of thousands of records a second.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from hashlib import blake2b
from typing import Any

import orjson

_SEPARATOR = b"\x1f"


def _json_default(value: Any) -> Any:
    # ijson yields Decimal for non-integers; other parsers yield float. Keys must not
    # depend on which parser read the body.
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _canonical_json(value: Any) -> bytes:
    """Stable bytes for any JSON value (objects with sorted keys)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=_json_default)
    except TypeError:
        # orjson refuses integers beyond 64 bits; the stdlib handles any size.
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
        return text.encode()


def _digest(parts: tuple[bytes, ...]) -> str:
    return blake2b(_SEPARATOR.join(parts), digest_size=16).hexdigest()


def _text(value: Any) -> bytes:
    if value is None:
        return b"\x00"
    if isinstance(value, str):
        return value.encode()
    return _canonical_json(value)


def configuration_event_id(event: Mapping[str, Any]) -> str:
    """Key a configuration audit event.

    `eventGroupID` is shared by every event of one operation, and such events may share
    `eventTime` too, so the key also covers what was done to what, and the values.
    The raw `eventTime` string is used, so re-reads of one event always agree.
    """
    actor = event.get("actor") or {}
    target = event.get("target") or {}
    if not isinstance(actor, Mapping):
        actor = {"_": actor}
    if not isinstance(target, Mapping):
        target = {"_": target}
    return _digest(
        (
            _text(event.get("eventGroupID")),
            _text(event.get("eventTime")),
            _text(event.get("action")),
            _text(event.get("origin")),
            _text(actor.get("id")),
            _text(target.get("type")),
            _text(target.get("id")),
            _text(target.get("property")),
            _text(event.get("old")),
            _text(event.get("new")),
            _text(event.get("error")),
        )
    )


def network_flow_id(entry: Mapping[str, Any]) -> str:
    """Key a network flow log record: one node's report for one sample window.

    A node reports each sample window once; `logged` separates a re-sent report.
    """
    return _digest(
        (
            _text(entry.get("nodeId")),
            _text(entry.get("start")),
            _text(entry.get("end")),
            _text(entry.get("logged")),
        )
    )
