"""ACL change analysis: parse both policies once, then list changes and risks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from tap_tailscale.admin_audit.hujson import PolicyParseError, parse_policy
from tap_tailscale.admin_audit.policy_changes import policy_changes
from tap_tailscale.admin_audit.policy_risks import policy_risks


class PolicyAnalysis(NamedTuple):
    """`changes` for the record, `risks` (code -> detail) for the rules, or why neither."""

    changes: dict[str, Any] | None
    risks: Mapping[str, str]
    error: str | None


NOT_ANALYSED = PolicyAnalysis(None, {}, None)


def _document(value: Any, side: str) -> Mapping[str, Any]:
    try:
        parsed = parse_policy(value)
    except (PolicyParseError, RecursionError) as exc:
        raise PolicyParseError(f"{side} policy is {exc}") from None
    if not isinstance(parsed, Mapping):
        raise PolicyParseError(f"{side} policy is a {type(parsed).__name__}, not an object")
    return parsed


def analyse_policy(old: Any, new: Any) -> PolicyAnalysis:
    """Changes and risks from `old` to `new`; nothing when a side is missing.

    A side that does not parse yields an analysis with only `error` set, never an
    exception, so one odd policy cannot stop a sync.
    """
    if old is None or new is None:
        return NOT_ANALYSED
    try:
        before, after = _document(old, "old"), _document(new, "new")
    except PolicyParseError as exc:
        return PolicyAnalysis(None, {}, str(exc))
    risks = {risk.code: risk.detail for risk in policy_risks(before, after)}
    return PolicyAnalysis(policy_changes(before, after), risks, None)
