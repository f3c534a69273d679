"""JSON schemas of the three streams.

Every API field is nullable and every enum is a plain string: Tailscale adds values
(origins, event types) without notice, and a tap that rejects them loses data.
"""

from __future__ import annotations

from singer_sdk import typing as th

# `old`/`new` are whatever JSON the API sent. Every JSON value matches exactly one of
# these types or the null that Property adds for optional fields, so `oneOf` is exact.
# (A plain type list makes the SDK's built-in tests
# treat the column as boolean, and an empty schema breaks its type detection.)
ANY_JSON = th.CustomType(
    {"oneOf": [{"type": t} for t in ("object", "array", "string", "number", "boolean")]}
)
# u64 counters: JSON Schema integers have no width limit, unlike a 53-bit float.
COUNTER = th.IntegerType(minimum=0, maximum=2**64 - 1)
TIMESTAMP = th.DateTimeType

EXTRA_FIELDS = th.Property(
    "extra_fields",
    # No "properties" key: the SDK's flattener drops an object declared with an empty
    # one, and keeps this as a JSON text column instead.
    th.CustomType({"type": ["object", "null"], "additionalProperties": True}),
    description=(
        "Top-level fields the API sent that this schema does not know yet, kept rather "
        "than dropped so a new API field is never lost."
    ),
)
TAILNET = th.Property(
    "tailnet",
    th.StringType,
    required=True,
    description="The tailnet the record was read from, as configured (`-`: the credential's).",
)

ACTOR = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("type", th.StringType),
    th.Property("loginName", th.StringType),
    th.Property("displayName", th.StringType),
    th.Property("tags", th.ArrayType(th.StringType)),
    additional_properties=True,
)
TARGET = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("name", th.StringType),
    th.Property("type", th.StringType),
    th.Property("isEphemeral", th.BooleanType),
    th.Property("property", th.StringType),
    additional_properties=True,
)

CONFIGURATION_AUDIT = th.PropertiesList(
    th.Property(
        "event_id",
        th.StringType,
        required=True,
        description="Deterministic key computed from the event's content; stable across re-reads.",
    ),
    TAILNET,
    th.Property(
        "eventTime",
        TIMESTAMP,
        required=True,
        description="When the event happened, UTC, fixed width with microseconds.",
    ),
    th.Property("type", th.StringType),
    th.Property(
        "deferredAt",
        TIMESTAMP,
        description="When Tailscale's rate limiter deferred the record; null if it was not.",
    ),
    th.Property("eventGroupID", th.StringType),
    th.Property("origin", th.StringType),
    th.Property("actor", ACTOR),
    th.Property("target", TARGET),
    th.Property("action", th.StringType),
    th.Property("old", ANY_JSON),
    th.Property("new", ANY_JSON),
    th.Property("actionDetails", th.StringType),
    th.Property("error", th.StringType),
    EXTRA_FIELDS,
).to_dict()

CONNECTION_COUNTS = th.ObjectType(
    th.Property(
        "proto",
        th.CustomType({"type": ["integer", "string", "null"]}),
        description="IANA protocol number (the API may also send a name such as `tcp`).",
    ),
    th.Property("src", th.StringType),
    th.Property("dst", th.StringType),
    th.Property("txPkts", COUNTER),
    th.Property("txBytes", COUNTER),
    th.Property("rxPkts", COUNTER),
    th.Property("rxBytes", COUNTER),
    additional_properties=True,
)
NODE_IDENTITY = th.ObjectType(
    th.Property("nodeId", th.StringType),
    th.Property("name", th.StringType),
    th.Property("addresses", th.ArrayType(th.StringType)),
    th.Property("os", th.StringType),
    th.Property("user", th.StringType),
    th.Property("tags", th.ArrayType(th.StringType)),
    additional_properties=True,
)
TRAFFIC_KINDS = ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic")

NETWORK_FLOW = th.PropertiesList(
    th.Property(
        "flow_id",
        th.StringType,
        required=True,
        description="Deterministic key of one node's report for one sample window.",
    ),
    TAILNET,
    th.Property(
        "logged",
        TIMESTAMP,
        required=True,
        description="When Tailscale's log server captured the record; the API filters on it.",
    ),
    th.Property("nodeId", th.StringType, required=True),
    th.Property("start", TIMESTAMP, description="Sample start, on the node's clock."),
    th.Property("end", TIMESTAMP, description="Sample end, on the node's clock."),
    *(
        th.Property(kind, th.ArrayType(CONNECTION_COUNTS), description="Omitted counters are zero.")
        for kind in TRAFFIC_KINDS
    ),
    th.Property("srcNode", NODE_IDENTITY),
    th.Property("dstNodes", th.ArrayType(NODE_IDENTITY)),
    EXTRA_FIELDS,
).to_dict()

ADMIN_AUDIT = th.PropertiesList(
    th.Property(
        "cursor",
        th.StringType,
        required=True,
        description="Fixed-width UTC event time joined to event_id; sorts in event order.",
    ),
    th.Property("event_id", th.StringType, required=True),
    TAILNET,
    th.Property("event_time", TIMESTAMP, required=True),
    th.Property("source", th.StringType),
    th.Property("category", th.StringType),
    th.Property("event_type", th.StringType, description="Tailscale's TARGET.ACTION[.PROPERTY]."),
    th.Property("action", th.StringType, description="Normalized `resource:verb`."),
    th.Property("severity", th.StringType, description="high, medium or info."),
    th.Property(
        "actor",
        th.ObjectType(
            th.Property("id", th.StringType),
            th.Property("type", th.StringType),
            th.Property("login_name", th.StringType),
            th.Property("display_name", th.StringType),
            th.Property("tags", th.ArrayType(th.StringType)),
        ),
    ),
    th.Property(
        "target",
        th.ObjectType(
            th.Property("id", th.StringType),
            th.Property("name", th.StringType),
            th.Property("type", th.StringType),
            th.Property("property", th.StringType),
        ),
    ),
    th.Property("origin", th.StringType),
    th.Property("outcome", th.StringType, description="success, or failure when `error` is set."),
    th.Property("error", th.StringType),
    th.Property("summary", th.StringType),
    th.Property("old", ANY_JSON),
    th.Property("new", ANY_JSON),
    th.Property(
        "policy_diff",
        th.StringType,
        description="Unified diff of the ACL policy, for policy changes with both versions.",
    ),
).to_dict()
