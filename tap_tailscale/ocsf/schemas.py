"""Singer JSON schemas of the `ocsf_audit` and `ocsf_network_activity` streams.

Top-level OCSF attributes are typed; OCSF objects (metadata, actor, endpoints, ...)
are open objects without declared properties, so the SDK's flattener keeps each as one
JSON column and an OCSF consumer reads them whole.
"""

from __future__ import annotations

from typing import Any


def _nullable(kind: str, description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if description:
        schema["description"] = description
    return schema


def _object(description: str | None = None) -> dict[str, Any]:
    return {**_nullable("object", description), "additionalProperties": True}


def _array_of_objects() -> dict[str, Any]:
    return {"type": ["array", "null"], "items": {"type": "object", "additionalProperties": True}}


_KEYS = {
    "event_uid": {"type": ["string"], "description": "The event's key; equals metadata.uid."},
    "tailnet": {"type": ["string"], "description": "Equals metadata.tenant_uid."},
}
_BASE = {
    "class_uid": {"type": ["integer"]},
    "class_name": _nullable("string"),
    "category_uid": {"type": ["integer"]},
    "category_name": _nullable("string"),
    "activity_id": {"type": ["integer"]},
    "activity_name": _nullable("string"),
    "type_uid": {"type": ["integer"]},
    "type_name": _nullable("string"),
    "severity_id": {"type": ["integer"]},
    "severity": _nullable("string"),
    "status_id": _nullable("integer"),
    "status": _nullable("string"),
    "time": {"type": ["integer"], "description": "Event time, ms since the Unix epoch."},
    "timezone_offset": _nullable("integer"),
    "message": _nullable("string"),
    "metadata": {"type": ["object"], "additionalProperties": True},
    "observables": _array_of_objects(),
    "unmapped": _object("Source fields with no OCSF attribute."),
}
_REQUIRED = [
    "event_uid",
    "tailnet",
    "class_uid",
    "category_uid",
    "activity_id",
    "type_uid",
    "severity_id",
    "time",
    "metadata",
]


def _schema(properties: dict[str, Any], extra_required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**_KEYS, **_BASE, **properties},
        "required": [*_REQUIRED, *extra_required],
    }


OCSF_AUDIT: dict[str, Any] = _schema(
    {
        "cursor": {
            "type": ["string"],
            "description": "The admin_audit cursor (replication key); not an OCSF attribute.",
        },
        "status_detail": _nullable("string"),
        "actor": _object(),
        "user": _object("Authentication, Account Change, User Access Management."),
        "privileges": {"type": ["array", "null"], "items": {"type": "string"}},
        "service": _object(),
        "src_endpoint": _object(),
        "dst_endpoint": _object(),
        "entity": _object("Entity Management."),
        "entity_result": _object("Entity Management: the entity after the change."),
        "comment": _nullable("string"),
    },
    ["cursor"],
)

OCSF_NETWORK_ACTIVITY: dict[str, Any] = _schema(
    {
        "logged": {
            "type": ["string"],
            "format": "date-time",
            "description": "When Tailscale captured the flow record (replication key).",
        },
        "start_time": _nullable("integer"),
        "end_time": _nullable("integer"),
        "duration": _nullable("integer"),
        "device": _object("The reporting node (host profile)."),
        "src_endpoint": _object(),
        "dst_endpoint": _object(),
        "connection_info": _object(),
        "traffic": _object(),
        "is_src_dst_assignment_known": _nullable("boolean"),
        "observation_point_id": _nullable("integer"),
    },
    ["logged"],
)
