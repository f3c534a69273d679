"""JSON schemas and keys of the posture streams: tailnet settings, log streaming,
webhooks, posture integrations, user invites, Services, contacts and posture findings.

As for the other inventory streams every API field is nullable and every enum a plain
string. No schema has a column for a secret: log-stream tokens and keys, webhook and
integration secrets are dropped, and invite links are redacted.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th
from singer_sdk.typing import Property

from tap_tailscale.fields import JSON_TEXT, TAILNET, TIMESTAMP
from tap_tailscale.inventory.schema import EXTRA_FIELDS, SYNCED_AT, VERSION_HASH

_STRINGS = th.ArrayType(th.StringType)
_BOOL = th.BooleanType

TAILNET_SETTINGS = th.PropertiesList(
    TAILNET,
    Property(
        "settings_version",
        th.StringType,
        required=True,
        description="`sha256:<hex>` of the settings; one row per distinct version.",
    ),
    SYNCED_AT,
    Property("aclsExternallyManagedOn", _BOOL),
    Property("aclsExternalLink", th.StringType),
    Property("devicesApprovalOn", _BOOL),
    Property("devicesAutoUpdatesOn", _BOOL),
    Property("devicesKeyDurationDays", th.IntegerType),
    Property("usersApprovalOn", _BOOL),
    Property("usersRoleAllowedToJoinExternalTailnets", th.StringType),
    Property("networkFlowLoggingOn", _BOOL, description="Null without `logs:network:read`."),
    Property("regionalRoutingOn", _BOOL),
    Property("postureIdentityCollectionOn", _BOOL),
    Property("httpsEnabled", _BOOL, description="Null without `networking_settings:read`."),
    Property(
        "missing_scopes",
        _STRINGS,
        description="Scopes whose settings the answer left out (those columns are null).",
    ),
    EXTRA_FIELDS,
).to_dict()

LOG_STREAM_STATUS = th.ObjectType(
    Property("lastActivity", TIMESTAMP),
    Property("lastError", th.StringType),
    Property("maxBodySize", th.IntegerType),
    Property("numBytesSent", th.IntegerType),
    Property("numEntriesSent", th.IntegerType),
    Property("numSpoofedEntries", th.IntegerType),
    Property("numTotalRequests", th.IntegerType),
    Property("numFailedRequests", th.IntegerType),
    Property("rateBytesSent", th.NumberType),
    Property("rateEntriesSent", th.NumberType),
    Property("rateTotalRequests", th.NumberType),
    Property("rateFailedRequests", th.NumberType),
    additional_properties=True,
)

LOG_STREAMING = th.PropertiesList(
    TAILNET,
    Property("logType", th.StringType, required=True, description="configuration or network."),
    SYNCED_AT,
    Property(
        "configured",
        _BOOL,
        description="False when the API answered 404: not configured (or not visible).",
    ),
    Property("destinationType", th.StringType),
    Property("url", th.StringType),
    Property("user", th.StringType),
    Property("uploadPeriodMinutes", th.IntegerType),
    Property("compressionFormat", th.StringType),
    Property("s3Bucket", th.StringType),
    Property("s3Region", th.StringType),
    Property("s3KeyPrefix", th.StringType),
    Property("s3AuthenticationType", th.StringType),
    Property("s3AccessKeyId", th.StringType),
    Property("s3RoleArn", th.StringType),
    Property("s3ExternalId", th.StringType),
    Property("gcsBucket", th.StringType),
    Property("gcsKeyPrefix", th.StringType),
    Property("gcsScopes", _STRINGS),
    Property("status", LOG_STREAM_STATUS, description="Publishing status; null if none."),
    Property("status_error", th.StringType, description="Why `status` is null, if known."),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

WEBHOOKS = th.PropertiesList(
    Property("endpointId", th.StringType, required=True, description="The key."),
    TAILNET,
    SYNCED_AT,
    Property("endpointUrl", th.StringType),
    Property("providerType", th.StringType, description="slack, mattermost, ... or empty."),
    Property("creatorLoginName", th.StringType),
    Property("created", TIMESTAMP),
    Property("lastModified", TIMESTAMP),
    Property("subscriptions", _STRINGS),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

POSTURE_INTEGRATIONS = th.PropertiesList(
    Property("id", th.StringType, required=True, description="The key."),
    TAILNET,
    SYNCED_AT,
    Property("provider", th.StringType, description="falcon, intune, jamfpro, kandji, ..."),
    Property("cloudId", th.StringType),
    Property("clientId", th.StringType),
    Property("tenantId", th.StringType),
    Property("configUpdated", TIMESTAMP),
    Property(
        "status",
        th.ObjectType(
            Property("lastSync", TIMESTAMP),
            Property("error", th.StringType, description="The last sync's error, as sent."),
            Property("providerHostCount", th.IntegerType),
            Property("matchedCount", th.IntegerType),
            Property("possibleMatchedCount", th.IntegerType),
            additional_properties=True,
        ),
    ),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

USER_INVITES = th.PropertiesList(
    Property("id", th.StringType, required=True, description="The key."),
    TAILNET,
    SYNCED_AT,
    Property("role", th.StringType),
    Property("tailnetId", th.IntegerType),
    Property("inviterId", th.IntegerType),
    Property("email", th.StringType),
    Property("lastEmailSentAt", TIMESTAMP),
    Property(
        "inviteUrl",
        th.StringType,
        description="The link with its code redacted: anyone holding it can accept.",
    ),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

SERVICES = th.PropertiesList(
    TAILNET,
    Property("name", th.StringType, required=True, description="`svc:...`; unique per tailnet."),
    SYNCED_AT,
    Property("addrs", _STRINGS),
    Property("comment", th.StringType),
    Property("ports", _STRINGS),
    Property("tags", _STRINGS),
    Property("annotations", JSON_TEXT),
    Property(
        "hosts",
        th.ArrayType(
            th.ObjectType(
                Property("stableNodeID", th.StringType, description="= devices.nodeId."),
                Property("approvalLevel", th.StringType),
                Property("configured", th.StringType),
                additional_properties=True,
            )
        ),
        description="The devices hosting the Service; null if they could not be read.",
    ),
    Property("hosts_error", th.StringType, description="Why `hosts` is null."),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

CONTACTS = th.PropertiesList(
    TAILNET,
    Property("contactType", th.StringType, required=True, description="account, support, ..."),
    SYNCED_AT,
    Property("email", th.StringType),
    Property("fallbackEmail", th.StringType),
    Property("needsVerification", _BOOL),
    VERSION_HASH,
    EXTRA_FIELDS,
).to_dict()

POSTURE_FINDINGS = th.PropertiesList(
    Property(
        "finding_id",
        th.StringType,
        required=True,
        description="sha256 of (tailnet, rule_id, subject_type, subject_id): stable per finding.",
    ),
    TAILNET,
    SYNCED_AT,
    Property("rule_id", th.StringType),
    Property("title", th.StringType),
    Property("severity", th.StringType, description="high, medium or info."),
    Property("attack", _STRINGS, description="MITRE ATT&CK technique IDs."),
    Property("subject_type", th.StringType, description="tailnet, device, key, webhook, ..."),
    Property("subject_id", th.StringType),
    Property("subject_name", th.StringType),
    Property("source_stream", th.StringType, description="The snapshot the finding reads."),
    Property("detail", th.StringType, description="What made the rule fire."),
).to_dict()

POSTURE_KEY_PROPERTIES: dict[str, list[str]] = {
    "tailnet_settings": ["tailnet", "settings_version"],
    "log_streaming": ["tailnet", "logType"],
    "webhooks": ["tailnet", "endpointId"],
    "posture_integrations": ["tailnet", "id"],
    "user_invites": ["tailnet", "id"],
    "services": ["tailnet", "name"],
    "contacts": ["tailnet", "contactType"],
    "posture_findings": ["finding_id"],
}
POSTURE_SCHEMAS: dict[str, dict[str, Any]] = {
    "tailnet_settings": TAILNET_SETTINGS,
    "log_streaming": LOG_STREAMING,
    "webhooks": WEBHOOKS,
    "posture_integrations": POSTURE_INTEGRATIONS,
    "user_invites": USER_INVITES,
    "services": SERVICES,
    "contacts": CONTACTS,
    "posture_findings": POSTURE_FINDINGS,
}
