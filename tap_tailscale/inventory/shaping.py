"""What every inventory record shares: the snapshot fields, timestamps, JSON text, extras,
secret dropping and content hashes.

Inventory endpoints are snapshots of *now*, so each record carries the tailnet and the
instant of its snapshot (`synced_at`, one value for the whole snapshot). Keys never
depend on fields that change between polls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from hashlib import sha256
from typing import Any

import msgspec

from tap_tailscale.errors import InvalidTimestampError, RejectedEntryError
from tap_tailscale.secret_fields import is_secret
from tap_tailscale.timeutil import (
    format_timestamp,
    normalize_optional_timestamp,
    normalize_timestamp,
)

# Sorted keys make equal documents equal bytes; Decimal keeps the digits the API sent.
_CANONICAL = msgspec.json.Encoder(order="sorted", decimal_format="number")


def snapshot_time(synced_at: str | datetime) -> str:
    """The snapshot instant in the tap's timestamp form."""
    if isinstance(synced_at, datetime):
        return format_timestamp(synced_at)
    return normalize_timestamp(synced_at)


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of `value`, as `sha256:<hex>`."""
    return "sha256:" + sha256(_CANONICAL.encode(value)).hexdigest()


def canonical_text(value: Any) -> str | None:
    """A JSON value as text with object keys sorted (None for no value).

    JSON objects have no key order, so the same object sent with its keys in another
    order gives the same text, and the same row, every digit kept.
    """
    return None if value is None else _CANONICAL.encode(value).decode()


def extras(obj: Mapping[str, Any], known: frozenset[str]) -> str | None:
    """Fields the schema does not know yet, as JSON text (None when there are none),
    without secrets."""
    unknown = {k: v for k, v in obj.items() if k not in known and not is_secret(k, v)}
    return canonical_text(unknown or None)


# How one field goes from the API object to the record: None keeps the value as sent.
Converter = Callable[[Any], Any] | None
# Timestamps are normalized; `""` and Go's zero time become null.
TIME: Converter = normalize_optional_timestamp
# Objects with free-form keys (region names, claim names) become JSON text, so a
# flattening loader does not make a column per key.
JSON: Converter = canonical_text


def shape_fields(
    obj: Mapping[str, Any], spec: Iterable[tuple[str, Converter]], key: str
) -> dict[str, Any]:
    """The spec's fields of `obj`, in spec order, each converted; an invalid timestamp
    rejects the object."""
    out: dict[str, Any] = {}
    try:
        for name, convert in spec:
            value = obj.get(name)
            out[name] = value if convert is None or value is None else convert(value)
    except InvalidTimestampError as exc:
        raise RejectedEntryError(str(exc), key) from None
    return out


def require_object(obj: Any, key_field: str) -> str:
    """The object's key value; rejects a non-object or a missing or non-text key."""
    if not isinstance(obj, Mapping):
        raise RejectedEntryError(f"entry is {type(obj).__name__}, not an object", None)
    key = obj.get(key_field)
    if not isinstance(key, str) or not key:
        raise RejectedEntryError(f"`{key_field}` is missing or not a string", None)
    return key


def version_hash(obj: Mapping[str, Any], volatile: frozenset[str]) -> str:
    """Hash of an object without its volatile fields (and secrets): it changes when the
    object really changed, not when it was merely seen again."""
    return content_hash({k: v for k, v in obj.items() if k not in volatile and not is_secret(k, v)})
