"""The unified diff of two policy documents, as `admin_audit.policy_diff`."""

from __future__ import annotations

import difflib
import json
from typing import Any

from tap_tailscale.admin_audit.hujson import PolicyParseError, parse_policy


def _raw_lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).splitlines()


def _pretty_lines(value: Any) -> list[str]:
    return json.dumps(parse_policy(value), indent=2, ensure_ascii=False).splitlines()


def policy_diff(old: Any, new: Any) -> str | None:
    """Unified diff of two policy documents (JSON or HuJSON), or None if one is missing.

    Both sides are parsed and pretty-printed the same way (indent 2, each document's
    own key order) so re-indentation does not drown the real change. Comments do
    not survive parsing, which is fine: `old` and `new` keep the original text.
    If either side does not parse, the raw text lines are diffed instead.
    Identical documents give "".
    """
    if old is None or new is None:
        return None
    try:
        old_lines, new_lines = _pretty_lines(old), _pretty_lines(new)
    except (PolicyParseError, TypeError, ValueError, RecursionError):
        old_lines, new_lines = _raw_lines(old), _raw_lines(new)
    diff = list(
        difflib.unified_diff(old_lines, new_lines, fromfile="old", tofile="new", lineterm="")
    )
    return "\n".join(diff) + "\n" if diff else ""
