"""JSON schema of the `admin_audit` stream (re-exported as `schemas.ADMIN_AUDIT`).

Kept beside the record builder so a field is added in one package. It imports nothing
from the tap's schema module, which imports it: no import cycle.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th
from singer_sdk.typing import Property

# Whatever JSON the API sent; with the null that Property adds, `oneOf` is exact.
_JSON_TYPES = ("object", "array", "string", "number", "boolean")


def changed_value_properties() -> list[Property[Any]]:
    """`old` and `new`: the one place that decides their type (see record.changed_values)."""
    # JSON text, as in configuration_audit: every loader keeps it without ambiguity.
    value = th.CustomType({"type": ["string", "null"], "contentMediaType": "application/json"})
    return [
        Property("old", value, description="The value before the change, as JSON text."),
        Property("new", value, description="The value after the change, as JSON text."),
    ]


FINDING = th.ObjectType(
    Property("rule_id", th.StringType, description="See docs/detections.md."),
    Property("title", th.StringType),
    Property("severity", th.StringType, description="high, medium or info."),
    Property("attack", th.ArrayType(th.StringType), description="MITRE ATT&CK technique IDs."),
    Property("detail", th.StringType, description="What made the rule fire, when it says."),
)

ADMIN_AUDIT = th.PropertiesList(
    Property(
        "cursor",
        th.StringType,
        required=True,
        description="Fixed-width UTC event time joined to event_id; sorts in event order.",
    ),
    Property("event_id", th.StringType, required=True),
    Property(
        "tailnet",
        th.StringType,
        required=True,
        description="The tailnet the record was read from, as configured (`-`: the credential's).",
    ),
    Property("event_time", th.DateTimeType, required=True),
    Property("event_group_id", th.StringType, description="Shared by the events of one operation."),
    Property("source", th.StringType),
    Property("category", th.StringType),
    Property("event_type", th.StringType, description="Tailscale's TARGET.ACTION[.PROPERTY]."),
    Property("action", th.StringType, description="Normalized `resource:verb`."),
    Property(
        "severity",
        th.StringType,
        description="high, medium or info: the highest of the action's and its findings'.",
    ),
    Property("findings", th.ArrayType(FINDING), description="Detection rules that fired."),
    Property(
        "actor",
        th.ObjectType(
            Property("id", th.StringType),
            Property("type", th.StringType),
            Property("login_name", th.StringType),
            Property("display_name", th.StringType),
            Property("tags", th.ArrayType(th.StringType)),
        ),
    ),
    Property(
        "target",
        th.ObjectType(
            Property("id", th.StringType),
            Property("name", th.StringType),
            Property("type", th.StringType),
            Property("property", th.StringType),
        ),
    ),
    Property("origin", th.StringType),
    Property("outcome", th.StringType, description="success, or failure when `error` is set."),
    Property("error", th.StringType),
    Property("action_details", th.StringType, description="Tailscale's `actionDetails`."),
    Property("summary", th.StringType),
    *changed_value_properties(),
    Property(
        "policy_diff",
        th.StringType,
        description="Unified diff of the ACL policy, for policy changes with both versions.",
    ),
    Property(
        "policy_changes",
        # No "properties" key: the SDK's flattener drops an object declared with an
        # empty one; sections appear only when they changed (docs/admin-audit-actions.md).
        th.CustomType({"type": ["object", "null"], "additionalProperties": True}),
        description=(
            "ACL changes by section (acls, grants, ssh, tests, tagOwners, ...), and "
            "became_reachable / no_longer_reachable: the access diff in reviewer words; "
            "reach_now: users and devices it touches, counted on this sync's devices and "
            "users snapshot (absent without one), not as of the event."
        ),
    ),
).to_dict()
