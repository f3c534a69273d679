"""Parsing Tailscale policy files: JSON, or HuJSON (JSON with comments and trailing commas).

HuJSON (https://github.com/tailscale/hujson: JSON plus `//` and `/* */` comments and
trailing commas) is a subset of JSON5, so the `json5` library reads it; plain JSON, the
common case for API-written policies, takes the fast standard parser first.
"""

from __future__ import annotations

import json
from typing import Any

import json5


class PolicyParseError(ValueError):
    """A policy document that is neither JSON nor HuJSON."""


def parse_policy(value: Any) -> Any:
    """The parsed policy; values that are not text (already parsed) are returned as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return json5.loads(value)
    except (ValueError, TypeError, RecursionError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyParseError(f"not JSON or HuJSON: {first_line}") from None
