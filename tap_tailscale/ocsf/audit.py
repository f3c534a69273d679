"""`ocsf_audit`: one `admin_audit` record as an OCSF 1.8.0 IAM event.

The class and activity come from audit_classes (its docstring says why). What OCSF has
no attribute for (normalized action, findings, policy analysis, raw origin) goes to
`unmapped`. The record also carries three stream keys that are not OCSF attributes:
`event_uid` (= metadata.uid), `tailnet` (= metadata.tenant_uid) and `cursor` (the
admin_audit replication key); drop them with `ocsf_event_only` for pure OCSF.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tap_tailscale.ocsf.audit_classes import (
    AUTH_SERVICES,
    AUTHENTICATION,
    ENTITY_MANAGEMENT,
    USER_ACCESS,
    classify,
)
from tap_tailscale.ocsf.common import (
    OCSF_VERSION,
    SEVERITY_IDS,
    classification,
    drop_none,
    epoch_ms,
    product,
    severity,
    status,
)

AUDIT_STREAM_KEYS = ("event_uid", "tailnet", "cursor")
_USER_TYPE_IDS = {
    "USER": 1,
    "NODE": 4,
    "OAUTH_CLIENT": 4,
    "SCIM": 4,
    "LOGSTREAM": 4,
    "AUTOMATED_WORKER": 3,
    "SECRET_SCANNER": 3,
    "MULLVAD": 3,
}
_ENTITY_TYPES = {"NODE": (1, "Device"), "USER": (2, "User"), "GROUP": (3, "Group")}
_TAILNET_PARTS = {
    "ACL": (5, "Policy"),
    "LOGSTREAM_ENDPOINT": (99, "Log stream endpoint"),
    "POSTURE_INTEGRATION": (99, "Posture integration"),
    "TKA": (99, "Tailnet lock"),
}


def _user_type_id(actor_type: str | None) -> int:
    return 0 if actor_type is None else _USER_TYPE_IDS.get(actor_type.upper(), 99)


def _actor_user(actor: Mapping[str, Any]) -> dict[str, Any]:
    login, display = actor.get("login_name"), actor.get("display_name")
    user = drop_none(
        {
            "uid": actor.get("id"),
            "name": login or display,
            "email_addr": login if login and "@" in login else None,
            "display_name": display,
            "type": actor.get("type"),
            "groups": [{"name": tag} for tag in actor.get("tags") or []],
        }
    )
    if "uid" not in user and "name" not in user:
        return {}
    return {**user, "type_id": _user_type_id(actor.get("type"))}


def _target_user(target: Mapping[str, Any]) -> dict[str, Any]:
    name = target.get("name")
    user = drop_none(
        {
            "uid": target.get("id"),
            "name": name,
            "email_addr": name if name and "@" in name else None,
        }
    )
    # `user` is required by these classes; a malformed event without a target still
    # gets a valid one that says so.
    return user or {"name": "(unknown)"}


def _entity_type(target: Mapping[str, Any], verb: str) -> tuple[int, str]:
    ttype = (target.get("type") or "").upper()
    prop = (target.get("property") or "").upper()
    if ttype == "TAILNET":
        if prop in _TAILNET_PARTS:
            return _TAILNET_PARTS[prop]
        return (99, "Tailnet setting") if verb in ("ENABLE", "DISABLE") else (4, "Organization")
    return _ENTITY_TYPES.get(ttype, (99, ttype.replace("_", " ").title() or "Unknown"))


def _entities(record: Mapping[str, Any]) -> dict[str, Any]:
    target = record.get("target") or {}
    verb = record["event_type"].split(".")[1] if "." in record["event_type"] else ""
    type_id, type_name = _entity_type(target, verb)
    prop = target.get("property")
    name = target.get("name") or (prop if type_name == "Tailnet setting" else None)
    base = drop_none({"type_id": type_id, "type": type_name, "uid": target.get("id"), "name": name})
    if "uid" not in base and "name" not in base:
        base["name"] = record["event_type"]
    label = prop or "value"
    old, new = _value(record, "old"), _value(record, "new")
    entity = {**base, "data": {label: old}} if old is not None else base
    result = {"entity": entity}
    if new is not None:
        result["entity_result"] = {**base, "data": {label: new}}
    return result


def _class_attributes(record: Mapping[str, Any], class_uid: int) -> dict[str, Any]:
    target = record.get("target") or {}
    if class_uid == AUTHENTICATION:
        ttype = (target.get("type") or "").upper()
        attrs: dict[str, Any] = {
            "user": _actor_user(record.get("actor") or {}) or _target_user(target),
            "service": {"name": AUTH_SERVICES.get(ttype, "Tailscale")},
        }
        if ttype in ("NODE", "WEB_INTERFACE"):
            endpoint = drop_none({"uid": target.get("id"), "hostname": target.get("name")})
            attrs["src_endpoint" if ttype == "NODE" else "dst_endpoint"] = endpoint or None
        return drop_none(attrs)
    if class_uid == ENTITY_MANAGEMENT:
        return drop_none({**_entities(record), "comment": record.get("action_details")})
    user = _target_user(target)
    if class_uid == USER_ACCESS:
        role = _value(record, "new") if _value(record, "new") is not None else _value(record, "old")
        activity = classify(record["event_type"], _value(record, "old"), _value(record, "new"))
        if activity.activity_id == 2:
            role = _value(record, "old")
        return {"user": user, "privileges": [str(role) if role is not None else "(unknown)"]}
    return {"user": user}


def _observables(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    paths = (
        ("actor.user.name", 4),
        ("actor.user.email_addr", 5),
        ("user.email_addr", 5),
        ("src_endpoint.hostname", 1),
        ("dst_endpoint.hostname", 1),
    )
    for path, type_id in paths:
        value: Any = event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            found.append({"name": path, "type_id": type_id, "value": value})
    entity = event.get("entity") or {}
    if entity.get("type_id") == 1 and entity.get("name"):
        found.append({"name": "entity.name", "type_id": 1, "value": entity["name"]})
    return found


def _unmapped(record: Mapping[str, Any], class_uid: int) -> dict[str, Any]:
    target = record.get("target") or {}
    unmapped = {
        "action": record.get("action"),
        "origin": record.get("origin"),
        "actor_type": (record.get("actor") or {}).get("type"),
        "target_type": target.get("type"),
        "target_property": target.get("property"),
        "findings": record.get("findings"),
        "policy_changes": record.get("policy_changes"),
        "policy_diff": record.get("policy_diff"),
    }
    if class_uid != ENTITY_MANAGEMENT:
        unmapped.update(
            old=_value(record, "old"),
            new=_value(record, "new"),
            action_details=record.get("action_details"),
        )
    return drop_none(unmapped)


def ocsf_audit_event(admin_record: dict[str, Any]) -> dict[str, Any]:
    """The OCSF 1.8.0 event (plus stream keys) for one `admin_audit` record.

    Raises ValueError for a record without `event_time` or `event_id`, which the
    admin_audit stream never emits.
    """
    event_time, event_id = admin_record.get("event_time"), admin_record.get("event_id")
    if not event_time or not event_id:
        raise ValueError("an admin_audit record needs event_time and event_id for OCSF")
    activity = classify(
        admin_record["event_type"], _value(admin_record, "old"), _value(admin_record, "new")
    )
    failed = admin_record.get("outcome") == "failure"
    actor = drop_none(
        {
            "app_name": admin_record.get("origin"),
            "user": _actor_user(admin_record.get("actor") or {}),
        }
    )
    metadata = drop_none(
        {
            "version": OCSF_VERSION,
            "product": product("Configuration audit logs"),
            "uid": event_id,
            "tenant_uid": admin_record.get("tailnet"),
            "event_code": admin_record["event_type"],
            "correlation_uid": admin_record.get("event_group_id"),
            "original_time": event_time,
            "log_name": "configuration_audit",
        }
    )
    event = {
        **classification(
            activity.class_uid, activity.class_name, activity.activity_id, activity.activity_name
        ),
        **severity(SEVERITY_IDS.get(admin_record.get("severity") or "", 0)),
        **status(2 if failed else 1),
        "status_detail": admin_record.get("error"),
        "time": epoch_ms(event_time),
        "timezone_offset": 0,
        "message": admin_record.get("summary"),
        "metadata": metadata,
        "actor": actor or None,
        **_class_attributes(admin_record, activity.class_uid),
    }
    if (admin_record.get("actor") or {}).get("type") == "NODE" and "src_endpoint" not in event:
        node = admin_record["actor"]
        event["src_endpoint"] = (
            drop_none({"uid": node.get("id"), "name": node.get("display_name")}) or None
        )
    event = drop_none(event)
    event["observables"] = _observables(event)
    event["unmapped"] = _unmapped(admin_record, activity.class_uid)
    keys = {
        "event_uid": event_id,
        "tailnet": admin_record.get("tailnet"),
        "cursor": admin_record.get("cursor"),
    }
    return {**keys, **drop_none(event)}


def ocsf_event_only(record: Mapping[str, Any]) -> dict[str, Any]:
    """The pure OCSF event of an `ocsf_audit` or `ocsf_network_activity` record."""
    return {
        k: v for k, v in record.items() if k not in ("event_uid", "tailnet", "cursor", "logged")
    }


def _value(record: Mapping[str, Any], field: str) -> Any:
    """A changed value as the API sent it; admin_audit records hold it as JSON text."""
    text = record.get(field)
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
