"""ACL change analysis: parse both policies once, compare their access, list changes and risks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from tap_tailscale.admin_audit.policy_changes import policy_changes
from tap_tailscale.admin_audit.policy_risks import policy_risks
from tap_tailscale.policy import (
    PolicyParseError,
    ReachSnapshot,
    compare,
    parse_policy,
    reach_summary,
)

#: Gives the devices and users snapshot of this sync, or None when there is none.
ReachSource = Callable[[], ReachSnapshot | None]


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


def analyse_policy(old: Any, new: Any, reach: ReachSource | None = None) -> PolicyAnalysis:
    """Changes and risks from `old` to `new`.

    No `old` is a first policy, compared with one that allows nothing, so everything it
    opens is reported. No `new` is not analysed (deleting the policy is its own event).
    A side that does not parse yields an analysis with only `error` set, never an
    exception, so one odd policy cannot stop a sync. With `reach`, a change of access
    also gets `reach_now`: user and device counts on the sync's snapshot, when it has one.
    """
    if new is None:
        return NOT_ANALYSED
    try:
        before = _document(old, "old") if old is not None else {}
        after = _document(new, "new")
    except PolicyParseError as exc:
        return PolicyAnalysis(None, {}, str(exc))
    delta = compare(before, after)
    changes = policy_changes(before, after)
    widened, narrowed = delta.became_reachable(), delta.no_longer_reachable()
    if widened:
        changes["became_reachable"] = widened
    if narrowed:
        changes["no_longer_reachable"] = narrowed
    snapshot = reach() if reach is not None and (widened or narrowed) else None
    if snapshot is not None:
        changes["reach_now"] = reach_summary(delta.widened, delta.narrowed, snapshot)
    risks = {risk.code: risk.detail for risk in policy_risks(delta, before, after)}
    return PolicyAnalysis(changes, risks, None)
