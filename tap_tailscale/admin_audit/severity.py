"""Severity: the default table by normalized action, and the user's `severity_overrides`.

Overrides name a normalized action (`device:delete`), a glob (`device:*`), or a detection
rule (`rule:TS-LOG-001`). A rule can also be switched `off`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from tap_tailscale.admin_audit.rules import RULE_IDS
from tap_tailscale.inventory import RULE_IDS as POSTURE_RULE_IDS

SEVERITIES = ("high", "medium", "info")
"""Every severity, highest first."""
RULE_OFF = "off"
RULE_PREFIX = "rule:"

# `acl:update` is not listed: an ACL change is as severe as what it opens, which the
# TS-ACL rules read from the access diff (a narrowing or a comment edit is info).
# Tailnet settings and log configuration are medium; the rules single out the switches
# that weaken security (TS-SET-*, TS-LOG-*, TS-TKA-001) as high.
HIGH_ACTIONS = frozenset(
    {
        "acl:delete",
        "device:approve",
        "device:delete",
        "device:expire_key",
        "routes:approve",
        "routes:set_advertised",
        "auth_key:create",
        "user:invite",
        "user:role_update",
        "oidc:update",
        "saml:update",
        "tailnet:transfer_ownership",
        "tailnet:delete",
        "webhook:delete",
    }
)
MEDIUM_ACTIONS = frozenset(
    {
        "device:update",
        "tag:update",
        "posture:create",
        "posture:update",
        "posture:delete",
        "settings:update",
        "logging:set_config",
        # Revoking a key, removing a user or adding a webhook takes nothing away from
        # the defences; the webhook rules (TS-LOG-005/006) rate the ones that do.
        "auth_key:delete",
        "user:delete",
        "webhook:create",
        "webhook:update",
    }
)
# Events that switch a protection on (tailnet lock, approvals, flow logs, posture
# identity): info unless the user's overrides name their action.
HARDENING_EVENTS = frozenset(
    {
        "TAILNET.CREATE.TKA",
        "TAILNET.ENABLE.TKA",
        "TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED",
        "TAILNET.ENABLE.USER_APPROVAL_REQUIRED",
        "TAILNET.ENABLE.NETWORK_FLOW_LOGGING",
        "TAILNET.ENABLE.LOG_EXIT_FLOWS",
        "TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY",
    }
)
MEDIUM_VERBS = ("delete", "remove")

_GLOB_CHARS = frozenset("*?[")
# Lower is more severe, so sorting by rank puts the highest first.
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


def default_severity(normalized_action: str, event_type: str | None = None) -> str:
    """Severity from the product table, before any `severity_overrides`."""
    if event_type in HARDENING_EVENTS:
        return "info"
    action = normalized_action.strip().lower()
    if action in HIGH_ACTIONS:
        return "high"
    if action in MEDIUM_ACTIONS:
        return "medium"
    resource, colon, verb = action.rpartition(":")
    if colon and resource and verb in MEDIUM_VERBS:
        return "medium"
    return "info"


def highest(severities: Iterable[str]) -> str:
    """The most severe of `severities` (info when there are none)."""
    return min(severities, key=_RANK.__getitem__, default="info")


def _entry_error(raw_key: object, raw_value: object, problem: str) -> ValueError:
    return ValueError(f"severity_overrides: {raw_key!r} -> {raw_value!r} {problem}")


def _rule_override(
    raw_key: str, raw_value: object, value: str | None, known_rules: frozenset[str]
) -> tuple[str, str]:
    rule_id = raw_key.strip()[len(RULE_PREFIX) :].strip().upper()
    if rule_id not in known_rules:
        raise _entry_error(
            raw_key, raw_value, "names no detection rule; see docs/detections.md for rule IDs"
        )
    if value != RULE_OFF and value not in _RANK:
        raise _entry_error(
            raw_key,
            raw_value,
            f"is not valid for a rule; use off or one of {', '.join(SEVERITIES)}",
        )
    return rule_id, str(value)


class SeverityPolicy:
    """Default severities with the user's `severity_overrides` applied.

    An exact action beats any glob; among matching globs the longest pattern wins,
    and on equal length the higher severity, so a tie never hides a high.
    """

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, Mapping):
            msg = (
                "severity_overrides must be a mapping of action, glob or rule:ID to severity, "
                f"got {type(overrides).__name__}"
            )
            raise ValueError(msg)
        exact: dict[str, str] = {}
        globs: list[tuple[str, str]] = []
        rule_overrides: dict[str, str] = {}
        for raw_key, raw_value in overrides.items():
            name = raw_key.strip().lower() if isinstance(raw_key, str) else ""
            value = raw_value.strip().lower() if isinstance(raw_value, str) else None
            if not name:
                raise _entry_error(
                    raw_key,
                    raw_value,
                    "has an empty or non-text action; use a normalized action such as "
                    "'device:delete', a glob such as 'device:*', or a rule such as "
                    "'rule:TS-LOG-001'",
                )
            if name.startswith(RULE_PREFIX):
                known = RULE_IDS | POSTURE_RULE_IDS
                rule_id, setting = _rule_override(str(raw_key), raw_value, value, known)
                rule_overrides[rule_id] = setting
            elif value not in _RANK:
                raise _entry_error(
                    raw_key,
                    raw_value,
                    f"is not a valid severity; use one of {', '.join(SEVERITIES)}",
                )
            elif _GLOB_CHARS.intersection(name):
                globs.append((name, value))
            else:
                exact[name] = value
        globs.sort(key=lambda item: (-len(item[0]), _RANK[item[1]], item[0]))
        self._exact = exact
        self._globs = tuple(globs)
        self._rules = rule_overrides
        self._cache: dict[str, str] = {}

    def severity(self, normalized_action: str, event_type: str | None = None) -> str:
        """The base severity for one normalized action (of `event_type`, if given)."""
        hardening = event_type in HARDENING_EVENTS
        cached = self._cache.get(normalized_action)
        if cached is not None and not hardening:
            return cached
        action = normalized_action.strip().lower()
        result = self._exact.get(action)
        if result is None:
            result = next(
                (sev for pattern, sev in self._globs if fnmatch.fnmatchcase(action, pattern)),
                None,
            )
        if result is None and hardening:
            return "info"
        if result is None:
            result = default_severity(action)
        # Actions come from a small vocabulary; the bound only guards odd inputs.
        if len(self._cache) < 4096:
            self._cache[normalized_action] = result
        return result

    def rule_severity(self, rule_id: str, default: str) -> str | None:
        """The severity of a rule's findings, or None when the user switched it off."""
        setting = self._rules.get(rule_id, default)
        return None if setting == RULE_OFF else setting

    def __repr__(self) -> str:
        overrides = {
            **self._exact,
            **dict(self._globs),
            **{RULE_PREFIX + k: v for k, v in self._rules.items()},
        }
        return f"SeverityPolicy({overrides!r})"
