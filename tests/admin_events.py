"""Configuration events for admin_audit tests, built from an event type."""

from __future__ import annotations

from typing import Any

from tap_tailscale.admin_audit import SeverityPolicy, admin_audit_record

USER_ACTOR = {
    "id": "uQx7Lm2CNTRL",
    "type": "USER",
    "loginName": "alice@example.com",
    "displayName": "Alice Example",
}


def event(ev: str, **extra: Any) -> dict[str, Any]:
    """A well-formed configuration_audit record for `ev` (TARGET.ACTION[.PROPERTY])."""
    parts = ev.split(".", 2)
    target: dict[str, Any] = {"id": "nT1", "name": "web-1.tail1a2b3.ts.net", "type": parts[0]}
    if len(parts) > 2:
        target["property"] = parts[2]
    result: dict[str, Any] = {
        "eventTime": "2025-03-04T09:12:44.318207Z",
        "type": "CONFIG",
        "eventGroupID": "a41c9e07d2b85f3361e0c4a9b7d2f518",
        "origin": "ADMIN_CONSOLE",
        "actor": dict(USER_ACTOR),
        "target": target,
        "action": parts[1],
        "tailnet": "example.com",
        "event_id": "e1",
    }
    result.update(extra)
    return result


def record(ev: str, policy: SeverityPolicy | None = None, **extra: Any) -> dict[str, Any]:
    """The admin_audit record of `event(ev, **extra)`."""
    return admin_audit_record(event(ev, **extra), policy=policy or SeverityPolicy())


def rule_ids(rec: dict[str, Any]) -> set[str]:
    """The rule IDs of a record's findings."""
    return {finding["rule_id"] for finding in rec["findings"]}
