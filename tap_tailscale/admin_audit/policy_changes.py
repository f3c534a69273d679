"""What changed between two parsed policy files, section by section (`policy_changes`).

List sections (rules, grants, SSH rules, tests, node attributes) report entries added
and removed; an edited entry is one removed and one added. Map sections (tag owners,
groups, hosts, auto-approvers) report keys added, removed and changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

LIST_SECTIONS = ("acls", "grants", "ssh", "tests", "sshTests", "nodeAttrs")
MAP_SECTIONS = ("tagOwners", "groups", "hosts", "ipsets", "postures", "autoApprovers")
_KNOWN = {name.lower(): name for name in LIST_SECTIONS + MAP_SECTIONS}


def canonical(value: Any) -> str:
    """One text per JSON value, independent of key order, for comparing entries."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def section(policy: Mapping[str, Any], name: str) -> Any:
    """A top-level section, matching the key case-insensitively as Tailscale does."""
    wanted = name.lower()
    for key, value in policy.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def entries(policy: Mapping[str, Any], name: str) -> list[Any]:
    """A list section's entries ([] when absent or not a list)."""
    value = section(policy, name)
    return value if isinstance(value, list) else []


def _list_diff(old: list[Any], new: list[Any]) -> dict[str, list[Any]]:
    old_count = Counter(canonical(item) for item in old)
    new_count = Counter(canonical(item) for item in new)
    added, removed = new_count - old_count, old_count - new_count
    result: dict[str, list[Any]] = {}
    picked_new = [item for item in new if _take(added, item)]
    picked_old = [item for item in old if _take(removed, item)]
    if picked_new:
        result["added"] = picked_new
    if picked_old:
        result["removed"] = picked_old
    return result


def _take(counts: Counter[str], item: Any) -> bool:
    text = canonical(item)
    if counts[text] > 0:
        counts[text] -= 1
        return True
    return False


def _map_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    added = {k: v for k, v in new.items() if k not in old}
    removed = {k: v for k, v in old.items() if k not in new}
    changed = {
        k: {"old": old[k], "new": v}
        for k, v in new.items()
        if k in old and canonical(old[k]) != canonical(v)
    }
    for label, part in (("added", added), ("removed", removed), ("changed", changed)):
        if part:
            result[label] = part
    return result


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _other_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = {k for k in (*old, *new) if isinstance(k, str) and k.lower() not in _KNOWN}
    return sorted(k for k in keys if canonical(old.get(k)) != canonical(new.get(k)))


def policy_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Section-by-section changes from `old` to `new`; only changed sections appear."""
    changes: dict[str, Any] = {}
    for name in LIST_SECTIONS:
        diff = _list_diff(entries(old, name), entries(new, name))
        if diff:
            changes[name] = diff
    for name in MAP_SECTIONS:
        diff = _map_diff(_as_map(section(old, name)), _as_map(section(new, name)))
        if diff:
            changes[name] = diff
    other = _other_keys(old, new)
    if other:
        changes["other_keys"] = other
    return changes
