"""Parsing Tailscale policy files: JSON, or HuJSON (JSON with comments and trailing commas).

HuJSON (https://github.com/tailscale/hujson: JSON plus `//` and `/* */` comments and
trailing commas) becomes standard JSON the way that library's `Standardize` does it:
comments turn into white space and trailing commas are dropped, strings left alone. The
standard parser then reads it, which is some forty times faster than the `json5` library
on a large policy; text that still does not parse goes to `json5` (a superset of HuJSON),
whose error message names the problem.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json5


class PolicyParseError(ValueError):
    """A policy document that is neither JSON nor HuJSON."""


_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]|\\.)*")|,(\s*[\]}])')


def standardize(text: str) -> str:
    """HuJSON as standard JSON: comments blanked, trailing commas removed."""
    if "/" in text:
        text = _COMMENT_OR_STRING.sub(
            lambda m: m.group(0) if m.group(0).startswith('"') else " ", text
        )
    return _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)


def parse_policy(value: Any) -> Any:
    """The parsed policy; values that are not text (already parsed) are returned as is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return json.loads(standardize(value))
    except (ValueError, RecursionError):
        pass
    try:
        return json5.loads(value)
    except (ValueError, TypeError, RecursionError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyParseError(f"not JSON or HuJSON: {first_line}") from None
