"""Lenient readers for configuration event fields: absent, empty or odd values become None."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def text(value: Any) -> str | None:
    """A string field as text, with absent and empty both meaning None."""
    if value is None:
        return None
    result = value if isinstance(value, str) else str(value)
    return result or None


def key(value: str | None) -> str | None:
    """An enum-like value in upper case without surrounding space, or None."""
    if value is None:
        return None
    cleaned = value.strip().upper()
    return cleaned or None


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is an object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def split_event(value: str) -> tuple[str, str, str | None]:
    """`TARGET.ACTION[.PROPERTY]` into its parts."""
    parts = value.split(".", 2)
    return parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else None
