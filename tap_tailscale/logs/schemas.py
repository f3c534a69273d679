"""JSON schemas of the three streams.

Every API field is nullable and every enum is a plain string: Tailscale adds values
(origins, event types) without notice, and a tap that rejects them loses data.
"""

from __future__ import annotations

from singer_sdk import typing as th

# Record fields use Property directly; th.Property marks settings (tap.py), which the
# repository checks against meltano.yml and the README.
from singer_sdk.typing import Property

from tap_tailscale.admin_audit import schema as admin_audit_schema
from tap_tailscale.fields import COUNTER, EXTRA_FIELDS, JSON_TEXT, TAILNET, TIMESTAMP
from tap_tailscale.logs.records import TRAFFIC_KINDS

ACTOR = th.ObjectType(
    Property("id", th.StringType),
    Property("type", th.StringType),
    Property("loginName", th.StringType),
    Property("displayName", th.StringType),
    Property("tags", th.ArrayType(th.StringType)),
    additional_properties=True,
)
TARGET = th.ObjectType(
    Property("id", th.StringType),
    Property("name", th.StringType),
    Property("type", th.StringType),
    Property("isEphemeral", th.BooleanType),
    Property("property", th.StringType),
    additional_properties=True,
)

CONFIGURATION_AUDIT = th.PropertiesList(
    Property(
        "event_id",
        th.StringType,
        required=True,
        description="Deterministic key computed from the event's content; stable across re-reads.",
    ),
    TAILNET,
    Property(
        "eventTime",
        TIMESTAMP,
        required=True,
        description="When the event happened: UTC, every digit the API sent, padded to nine.",
    ),
    Property("type", th.StringType),
    Property(
        "deferredAt",
        TIMESTAMP,
        description="When Tailscale's rate limiter deferred the record; null if it was not.",
    ),
    Property("eventGroupID", th.StringType),
    Property("origin", th.StringType),
    Property("actor", ACTOR),
    Property("target", TARGET),
    Property("action", th.StringType),
    Property(
        "old",
        JSON_TEXT,
        description="Value of `target.property` before, as JSON text (a string is quoted).",
    ),
    Property("new", JSON_TEXT, description="Value after, as JSON text; null if none was sent."),
    Property("actionDetails", th.StringType),
    Property("error", th.StringType),
    EXTRA_FIELDS,
).to_dict()

CONNECTION_COUNTS = th.ObjectType(
    Property(
        "proto",
        th.CustomType({"type": ["integer", "string", "null"]}),
        description="IANA protocol number (the API may also send a name such as `tcp`).",
    ),
    Property("src", th.StringType),
    Property("dst", th.StringType),
    Property("txPkts", COUNTER),
    Property("txBytes", COUNTER),
    Property("rxPkts", COUNTER),
    Property("rxBytes", COUNTER),
    additional_properties=True,
)
NODE_IDENTITY = th.ObjectType(
    Property("nodeId", th.StringType),
    Property("name", th.StringType),
    Property("addresses", th.ArrayType(th.StringType)),
    Property("os", th.StringType),
    Property("user", th.StringType),
    Property("tags", th.ArrayType(th.StringType)),
    additional_properties=True,
)

NETWORK_FLOW = th.PropertiesList(
    Property(
        "flow_id",
        th.StringType,
        required=True,
        description="Deterministic key of one node's report for one sample window.",
    ),
    TAILNET,
    Property(
        "logged",
        TIMESTAMP,
        required=True,
        description="When Tailscale's log server captured the record; the API filters on it.",
    ),
    Property("nodeId", th.StringType, description="Reporting node; null if the API sent none."),
    Property("start", TIMESTAMP, description="Sample start, on the node's clock."),
    Property("end", TIMESTAMP, description="Sample end, on the node's clock."),
    *(
        Property(kind, th.ArrayType(CONNECTION_COUNTS), description="Omitted counters are zero.")
        for kind in TRAFFIC_KINDS
    ),
    Property("srcNode", NODE_IDENTITY),
    Property("dstNodes", th.ArrayType(NODE_IDENTITY)),
    EXTRA_FIELDS,
).to_dict()

# Lives with the admin_audit package, beside the record builder it describes.
ADMIN_AUDIT = admin_audit_schema.ADMIN_AUDIT
