"""The tailnet's posture objects, shaped as the live API returns them.

Settings, log streaming (configuration logs streamed, network logs not), webhooks,
posture integrations (one in error), open user invites, Services with their hosts, and
contacts. Deterministic for a tailnet, its devices and the dataset's end. With
`plant_secrets` every write-only or credential field the API is documented never to
return on a GET is filled with a distinct value, so a test can prove none leaves the tap.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tailscale_emulator.inventory import stamp
from tailscale_emulator.nodes import domain_of
from tailscale_emulator.timefmt import NS_PER_SECOND

if TYPE_CHECKING:
    from tailscale_emulator.dataset import TailnetConfig

JsonDict = dict[str, Any]
_DAY = 86400 * NS_PER_SECOND
LOG_TYPES = ("configuration", "network")
STREAMED_LOG_TYPES = frozenset({"configuration"})


def planted(tailnet: str, field: str, index: int = 0) -> str:
    """The distinct secret planted in `field` of the `index`th object of a tailnet."""
    digest = hashlib.sha256(f"{tailnet}:{field}:{index}".encode()).hexdigest()[:16]
    return f"planted-{field}-{digest}"


def settings(cfg: TailnetConfig) -> JsonDict:
    """`GET /tailnet/{t}/settings` with every field (the route hides ungranted ones)."""
    return {
        "aclsExternallyManagedOn": False,
        "aclsExternalLink": "",
        "devicesApprovalOn": False,
        "devicesAutoUpdatesOn": True,
        "devicesKeyDurationDays": 180,
        "usersApprovalOn": True,
        "usersRoleAllowedToJoinExternalTailnets": "member",
        "networkFlowLoggingOn": cfg.flow_logs_enabled,
        "regionalRoutingOn": False,
        "postureIdentityCollectionOn": True,
        "httpsEnabled": True,
    }


def log_stream(tailnet: str, log_type: str, *, plant: bool) -> JsonDict | None:
    """`GET /logging/{type}/stream`, or None when that log type is not streamed (404)."""
    if log_type not in STREAMED_LOG_TYPES:
        return None
    found: JsonDict = {
        "logType": log_type,
        "destinationType": "splunk",
        "url": f"https://siem.{domain_of(tailnet)}:8088/services/collector/event",
        "user": "tailscale",
        "uploadPeriodMinutes": 5,
        "compressionFormat": "zstd",
    }
    if plant:
        for field in ("token", "s3SecretAccessKey", "gcsCredentials"):
            found[field] = planted(tailnet, field)
    return found


def log_stream_status(log_type: str, now_ns: int) -> JsonDict | None:
    """`GET /logging/{type}/stream/status` (Go writes nanosecond times), or None."""
    if log_type not in STREAMED_LOG_TYPES:
        return None
    return {
        "lastActivity": stamp(now_ns - 120 * NS_PER_SECOND)[:-1] + ".984555636Z",
        "lastError": 'Post "https://siem.example/services/collector": context deadline exceeded',
        "maxBodySize": 524288,
        "numBytesSent": 17238983,
        "numEntriesSent": 8363,
        "numFailedRequests": 12,
        "numSpoofedEntries": 3,
        "numTotalRequests": 10610,
        "rateBytesSent": 3.524073767296142,
        "rateEntriesSent": 0.008564949767446907,
        "rateFailedRequests": 4.1431119220540763e-157,
        "rateTotalRequests": 0.0037038341100629453,
    }


def webhooks(tailnet: str, now_ns: int, *, plant: bool) -> JsonDict:
    """`GET /tailnet/{t}/webhooks`: one to the tailnet's own domain, one to Slack."""
    domain = domain_of(tailnet)
    hooks = [
        {
            "endpointId": "482913",
            "endpointUrl": f"https://hooks.{domain}/tailscale",
            "providerType": "",
            "creatorLoginName": f"dana.ops@{domain}",
            "created": stamp(now_ns - 90 * _DAY),
            "lastModified": stamp(now_ns - 30 * _DAY),
            "subscriptions": ["nodeCreated", "nodeNeedsApproval", "policyUpdate"],
        },
        {
            "endpointId": "482977",
            "endpointUrl": "https://hooks.slack.com/services/T000/B000/XXXX",
            "providerType": "slack",
            "creatorLoginName": "",
            "created": stamp(now_ns - 10 * _DAY),
            "lastModified": stamp(now_ns - 10 * _DAY),
            "subscriptions": ["userRoleUpdated", "nodeKeyExpired"],
        },
    ]
    if plant:
        for index, hook in enumerate(hooks):
            hook["secret"] = planted(tailnet, "secret", index)
    return {"webhooks": hooks}


def posture_integrations(tailnet: str, now_ns: int, *, plant: bool) -> JsonDict:
    """`GET /tailnet/{t}/posture/integrations`: Falcon syncing, Intune failing."""
    integrations = [
        {
            "id": "pcBEPQVMpki7CNTRL",
            "provider": "falcon",
            "cloudId": "us-2",
            "clientId": "3f1c9a0b2d4e4f6a",
            "configUpdated": stamp(now_ns - 40 * _DAY)[:-1] + ".239839Z",
            "status": {
                "lastSync": stamp(now_ns - 3600 * NS_PER_SECOND),
                "error": "",
                "providerHostCount": 240,
                "matchedCount": 118,
                "possibleMatchedCount": 121,
            },
        },
        {
            "id": "pIn7uNe9xkq2CNTRL",
            "provider": "intune",
            "cloudId": "global",
            "clientId": "8d2f6c1e-7a41-4c3b-9f0e-2b5d7e8a1c44",
            "tenantId": "d1ae389b-5207-43a2-afca-2de6b03ac7e3",
            "configUpdated": stamp(now_ns - 5 * _DAY),
            "status": {
                "lastSync": stamp(now_ns - 2 * _DAY),
                "error": "Invalid Tenant ID.\nMicrosoft error: AADSTS90002: Tenant not found.",
                "providerHostCount": 0,
                "matchedCount": 0,
                "possibleMatchedCount": 0,
            },
        },
    ]
    if plant:
        for index, integration in enumerate(integrations):
            integration["clientSecret"] = planted(tailnet, "clientSecret", index)
    return {"integrations": integrations}


def user_invites(tailnet: str, now_ns: int) -> list[JsonDict]:
    """`GET /tailnet/{t}/user-invites`: a bare array of open invites, one of them old."""
    domain = domain_of(tailnet)
    return [
        {
            "id": "29214",
            "role": "auditor",
            "tailnetId": 59954,
            "inviterId": 22012,
            "email": "audit@partner.example",
            "lastEmailSentAt": stamp(now_ns - 45 * _DAY)[:-1] + ".91778771Z",
            "inviteUrl": f"https://login.tailscale.com/uinv/{planted(tailnet, 'inviteUrl', 0)}",
        },
        {
            "id": "29215",
            "role": "member",
            "tailnetId": 59954,
            "inviterId": 22012,
            "email": f"new.hire@{domain}",
            "lastEmailSentAt": stamp(now_ns - 2 * _DAY),
        },
        {
            "id": "29216",
            "role": "admin",
            "tailnetId": 59954,
            "inviterId": 22012,
            "inviteUrl": f"https://login.tailscale.com/uinv/{planted(tailnet, 'inviteUrl', 2)}",
        },
    ]


def services(tailnet: str) -> JsonDict:
    """`GET /tailnet/{t}/services`."""
    del tailnet
    return {
        "vipServices": [
            {
                "name": "svc:grafana",
                "addrs": ["100.100.7.12", "fd7a:115c:a1e0::7:c"],
                "comment": "metrics UI",
                "ports": ["tcp:443"],
                "tags": ["tag:monitoring"],
            },
            {
                "name": "svc:db",
                "addrs": ["100.100.7.13", "fd7a:115c:a1e0::7:d"],
                "ports": ["tcp:5432"],
                "tags": [],
                "annotations": {"owner": "data-team"},
            },
        ]
    }


def service_hosts(name: str, node_ids: list[str]) -> JsonDict | None:
    """`GET /tailnet/{t}/services/{name}/devices`, or None for an unknown Service."""
    levels = ("approved:auto", "approved:manual", "not-approved")
    if name == "svc:grafana":
        chosen = node_ids[:2]
    elif name == "svc:db":
        chosen = node_ids[2:3]
    else:
        return None
    return {
        "hosts": [
            {"stableNodeID": n, "approvalLevel": levels[i % 3], "configured": "ready"}
            for i, n in enumerate(chosen)
        ]
    }


def contacts(tailnet: str) -> JsonDict:
    """`GET /tailnet/{t}/contacts`."""
    domain = domain_of(tailnet)
    return {
        "account": {"email": f"owner@{domain}", "needsVerification": False},
        "support": {"email": f"it@{domain}", "needsVerification": False},
        "security": {
            "email": f"secops@{domain}",
            "fallbackEmail": f"owner@{domain}",
            "needsVerification": True,
        },
    }
