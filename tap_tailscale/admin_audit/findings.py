"""Run the detection rules over one event's facts, honouring `severity_overrides`."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tap_tailscale.admin_audit.rules import RULES, Facts, Rule

if TYPE_CHECKING:
    from tap_tailscale.admin_audit.severity import SeverityPolicy


@lru_cache(maxsize=1024)
def rules_for(event_type: str) -> tuple[Rule, ...]:
    """The rules that look at `event_type`, in table order."""
    return tuple(rule for rule in RULES if rule.matches(event_type))


def findings(facts: Facts, policy: SeverityPolicy) -> list[dict[str, Any]]:
    """One finding per rule that fires and is not switched off."""
    result = []
    for rule in rules_for(facts.event_type):
        hit = True if rule.when is None else rule.when(facts)
        if not hit:
            continue
        severity = policy.rule_severity(rule.rule_id, rule.severity)
        if severity is None:
            continue
        result.append(
            {
                "rule_id": rule.rule_id,
                "title": rule.title,
                "severity": severity,
                "attack": list(rule.attack),
                "detail": hit if isinstance(hit, str) else None,
            }
        )
    return result
