"""A parsed policy file's sections and fields, read the way Tailscale reads them.

Tailscale decodes the policy file with Go's `encoding/json`, which matches object keys to
struct fields without regard to case, so `ACLs`, `acls` and `Acls` name one section and
`Action`/`action` one field (the terraform provider's own test policy spells them
capitalised). The old ACL field names `users` and `ports` still mean `src` and `dst`:
https://tailscale.com/docs/reference/syntax/policy-file.md (section "ACLs").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

EMPTY: Mapping[str, Any] = {}


def field(obj: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` present in `obj`, matched without regard to case."""
    for name in names:
        if name in obj:
            return obj[name]
    wanted = [name.lower() for name in names]
    found: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() in wanted:
            found.setdefault(key.lower(), value)
    return next((found[name] for name in wanted if name in found), None)


def strings(value: Any) -> list[str]:
    """A selector list: one string, or the strings of a list; anything else is empty."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def section_map(policy: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A map section (`groups`, `hosts`, ...), empty when absent or not an object."""
    value = field(policy, name)
    return value if isinstance(value, Mapping) else EMPTY


def section_list(policy: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """The object entries of a list section (`acls`, `grants`, ...)."""
    value = field(policy, name)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def canonical(value: Any) -> str:
    """One text per JSON value, independent of key order, for comparing values."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
