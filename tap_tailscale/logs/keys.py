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

_SEPARATOR = "\x1f"


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


def _digest(parts: tuple[Any, ...]) -> str:
    # Joining text and encoding once gives the bytes that encoding each part and joining
    # with the byte separator gives (UTF-8 is a concatenation homomorphism), with one
    # encode instead of one per part. Most keys are all text and nulls; join refuses
    # anything else, which then takes the general path.
    try:
        text = _SEPARATOR.join([_NULL if part is None else part for part in parts])
    except TypeError:
        text = _SEPARATOR.join([_text(part) for part in parts])
    return _hex_digest(text)


def _hex_digest(text: str) -> str:
    digest = _EMPTY_DIGEST.copy()  # cheaper than a new object with parameters
    digest.update(text.encode())
    return digest.hexdigest()


_NULL = "\x00"
_EMPTY_DIGEST = blake2b(digest_size=16)


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, str):
        return str(value)
    kind = type(value)
    if kind is bool:  # what canonical JSON writes, without the call
        return "true" if value else "false"
    if kind is int:
        return str(value)
    return _canonical_json(value).decode()


def configuration_event_id(event: Mapping[str, Any]) -> str:
    """Key a configuration audit event.

    `eventGroupID` is shared by every event of one operation, and such events may share
    `eventTime` too, so the key also covers what was done to what, and the values.
    The raw `eventTime` string is used, so re-reads of one event always agree.
    """
    get = event.get
    return configuration_key(
        group=get("eventGroupID"),
        event_time=get("eventTime"),
        action=get("action"),
        origin=get("origin"),
        actor=get("actor"),
        target=get("target"),
        old=get("old"),
        new=get("new"),
        error=get("error"),
    )


def configuration_key(
    *,
    group: Any,
    event_time: Any,
    action: Any,
    origin: Any,
    actor: Any,
    target: Any,
    old: Any,
    new: Any,
    error: Any,
) -> str:
    """configuration_event_id from the event's fields, for a caller that has them already."""
    actor = actor or {}
    target = target or {}
    if type(actor) is not dict and not isinstance(actor, Mapping):
        actor = {"_": actor}
    if type(target) is not dict and not isinstance(target, Mapping):
        target = {"_": target}
    actor_id, target_get = actor.get("id"), target.get
    target_type, target_id = target_get("type"), target_get("id")
    target_property = target_get("property")
    # Often true/false or objects: turned to text here, so the fast join holds.
    if old is not None and type(old) is not str:
        old = _text(old)
    if new is not None and type(new) is not str:
        new = _text(new)
    # _digest's join, spelled out: a list comprehension was a sixth of the key's cost.
    try:
        text = _SEPARATOR.join(
            (
                _NULL if group is None else group,
                _NULL if event_time is None else event_time,
                _NULL if action is None else action,
                _NULL if origin is None else origin,
                _NULL if actor_id is None else actor_id,
                _NULL if target_type is None else target_type,
                _NULL if target_id is None else target_id,
                _NULL if target_property is None else target_property,
                _NULL if old is None else old,
                _NULL if new is None else new,
                _NULL if error is None else error,
            )
        )
    except TypeError:  # a part that is not text: _digest's general path turns it into text
        head = (group, event_time, action, origin, actor_id, target_type, target_id)
        return _digest((*head, target_property, old, new, error))
    return _hex_digest(text)


def network_flow_id(entry: Mapping[str, Any]) -> str:
    """Key a network flow log record: one node's report for one sample window.

    A node reports each sample window once; `logged` separates a re-sent report. A report
    without `nodeId` is keyed by its whole content too, so two of them never share a key.
    """
    get = entry.get
    node_id = get("nodeId")
    if node_id is None:
        content = _canonical_json(dict(entry)).decode()
        return _digest((None, get("start"), get("end"), get("logged"), content))
    return node_report_key(node_id, get("start"), get("end"), get("logged"))


def node_report_key(node_id: Any, start: Any, end: Any, logged: Any) -> str:
    """network_flow_id of an entry that has a `nodeId`, from its four fields."""
    return _digest((node_id, start, end, logged))
