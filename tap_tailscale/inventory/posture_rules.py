"""Posture rules: findings from one snapshot of a tailnet's settings, log streaming,
webhooks, posture integrations, invites, keys and devices.

One table, read top to bottom, like admin_audit's detection rules: each rule has an ID,
a title, a default severity, MITRE ATT&CK technique IDs, the snapshot it reads and a
check that yields one (subject, detail) pair per hit. A value the API did not send
(null) raises nothing: unknown is not the same as off. docs/detections.md is generated
from this table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from tap_tailscale.settings import Thresholds
from tap_tailscale.timeutil import parse_timestamp

Obj = Mapping[str, Any]
_VERSION = re.compile(r"(\d+)\.(\d+)")


@dataclass
class Sources:
    """The snapshots of one tailnet, by stream name, as records; None where unreadable.

    `device_posture` holds the per-device posture records (`nodeId`, `expiries` as
    JSON text or an object: attribute name -> expiry time).
    """

    now: datetime
    thresholds: Thresholds = field(default_factory=Thresholds)
    tailnet_settings: Obj | None = None
    log_streaming: list[Obj] | None = None
    webhooks: list[Obj] | None = None
    posture_integrations: list[Obj] | None = None
    user_invites: list[Obj] | None = None
    keys: list[Obj] | None = None
    devices: Iterable[Obj] | None = None
    device_posture: Iterable[Obj] | None = None


class Hit(NamedTuple):
    """What one rule found about one subject."""

    subject_type: str
    subject_id: str
    subject_name: str | None
    detail: str


Check = Callable[[Sources, Any], Iterator[Hit]]


class PostureRule(NamedTuple):
    """One posture rule. `source` names the snapshot (a `Sources` field) it reads."""

    rule_id: str
    title: str
    severity: str
    attack: tuple[str, ...]
    source: str
    check: Check
    description: str


def _when(value: Any) -> datetime | None:
    try:
        return parse_timestamp(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _log_not_streamed(src: Sources, row: Obj) -> Iterator[Hit]:
    if row.get("configured") is False:
        yield Hit("log_stream", str(row.get("logType")), None, "no streaming endpoint answered")


def _log_failing(src: Sources, row: Obj) -> Iterator[Hit]:
    status = row.get("status") or {}
    if status.get("lastError"):
        failed, total = status.get("numFailedRequests"), status.get("numTotalRequests")
        detail = f"lastError: {status['lastError']} ({failed} of {total} requests failed)"
        yield Hit("log_stream", str(row.get("logType")), None, detail)


def _log_spoofed(src: Sources, row: Obj) -> Iterator[Hit]:
    spoofed = (row.get("status") or {}).get("numSpoofedEntries")
    if isinstance(spoofed, int) and spoofed > 0:
        yield Hit("log_stream", str(row.get("logType")), None, f"{spoofed} spoofed entries")


def _setting_off(name: str) -> Check:
    def check(src: Sources, settings: Obj) -> Iterator[Hit]:
        if settings.get(name) is False:
            yield Hit("tailnet", str(settings.get("tailnet")), None, f"{name} is false")

    return check


def _host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in (x.lower().strip(".") for x in allowed))


def _webhook_outside(src: Sources, hook: Obj) -> Iterator[Hit]:
    allowed = src.thresholds.webhook_allowed_hosts
    url = hook.get("endpointUrl")
    if allowed is None or not isinstance(url, str):
        return
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.IGNORECASE).split("/")[0]
    host = host.rpartition("@")[2].split(":")[0]
    if not _host_allowed(host, allowed):
        yield Hit("webhook", str(hook.get("endpointId")), host, f"posts to {host}")


def _integration_error(src: Sources, item: Obj) -> Iterator[Hit]:
    error = (item.get("status") or {}).get("error")
    if error:
        yield Hit("posture_integration", str(item.get("id")), item.get("provider"), str(error))


def _invite_old(src: Sources, invite: Obj) -> Iterator[Hit]:
    sent = _when(invite.get("lastEmailSentAt"))
    limit = src.thresholds.invite_max_age_days
    if sent is not None and src.now - sent > timedelta(days=limit):
        days = (src.now - sent).days
        detail = f"open, last emailed {days} days ago (role {invite.get('role')})"
        yield Hit("user_invite", str(invite.get("id")), invite.get("email"), detail)


def _live_key(key: Obj) -> bool:
    return key.get("invalid") is not True and not key.get("revoked")


def _key_expiring(src: Sources, key: Obj) -> Iterator[Hit]:
    expires = _when(key.get("expires"))
    if not _live_key(key) or expires is None or expires <= src.now:
        return
    if expires - src.now <= timedelta(days=src.thresholds.key_expiry_days):
        detail = f"{key.get('keyType')} key expires {key.get('expires')}"
        yield Hit("key", str(key.get("id")), key.get("description"), detail)


def _key_forever(src: Sources, key: Obj) -> Iterator[Hit]:
    if _live_key(key) and key.get("expires") is None:
        detail = f"{key.get('keyType')} key has no expiry"
        yield Hit("key", str(key.get("id")), key.get("description"), detail)


def _device_flag(name: str, wanted: Any, text: str) -> Check:
    def check(src: Sources, device: Obj) -> Iterator[Hit]:
        if device.get(name) == wanted:
            yield Hit("device", str(device.get("nodeId")), device.get("name"), text)

    return check


def _lock_error(src: Sources, device: Obj) -> Iterator[Hit]:
    error = device.get("tailnetLockError")
    if error:
        yield Hit("device", str(device.get("nodeId")), device.get("name"), str(error))


def _posture_expired(src: Sources, row: Obj) -> Iterator[Hit]:
    expiries = row.get("expiries")
    if isinstance(expiries, str):
        try:
            expiries = json.loads(expiries)
        except ValueError:
            return
    if not isinstance(expiries, Mapping):
        return
    gone = sorted(
        str(name)
        for name, at in expiries.items()
        if (moment := _when(at)) is not None and moment <= src.now
    )
    if gone:
        detail = "posture attributes expired: " + ", ".join(gone)
        yield Hit("device", str(row.get("nodeId")), None, detail)


def release(version: Any) -> tuple[int, int] | None:
    """(major, minor) of a client version such as `1.92.3-t1a2b3c4d5-g6e7f8a9b0`."""
    found = _VERSION.match(version) if isinstance(version, str) else None
    return (int(found.group(1)), int(found.group(2))) if found else None


def releases_behind(version: tuple[int, int], newest: tuple[int, int]) -> int:
    """Stable releases between two versions: stable minors are even, so 2 minors = 1."""
    if version[0] != newest[0]:
        return 0 if version[0] > newest[0] else 100
    return max(0, (newest[1] - version[1] + 1) // 2)


def _old_client(src: Sources, device: Obj, newest: tuple[int, int]) -> Iterator[Hit]:
    found = release(device.get("clientVersion"))
    if found is None:
        return
    behind = releases_behind(found, newest)
    if behind >= src.thresholds.client_releases_behind:
        detail = f"client {device.get('clientVersion')} is {behind} releases behind"
        yield Hit("device", str(device.get("nodeId")), device.get("name"), detail)


_D = "devices"
RULES: tuple[PostureRule, ...] = (
    PostureRule("TS-PST-001", "Log streaming not configured", "high", ("T1562.008",),
                "log_streaming", _log_not_streamed,
                "A log type has no streaming endpoint (the API answered 404)."),
    PostureRule("TS-PST-002", "Log streaming failing", "high", ("T1562.008",),
                "log_streaming", _log_failing, "The stream's status has a `lastError`."),
    PostureRule("TS-PST-003", "Log streaming reports spoofed entries", "medium",
                ("T1565.001",), "log_streaming", _log_spoofed,
                "`numSpoofedEntries` above 0: flow entries no peer confirmed."),
    PostureRule("TS-PST-004", "Network flow logging off", "high", ("T1562.008",),
                "tailnet_settings", _setting_off("networkFlowLoggingOn"),
                "`networkFlowLoggingOn` is false."),
    PostureRule("TS-PST-005", "Device approval off", "medium", ("T1562.001",),
                "tailnet_settings", _setting_off("devicesApprovalOn"),
                "`devicesApprovalOn` is false."),
    PostureRule("TS-PST-006", "User approval off", "medium", ("T1562.001",),
                "tailnet_settings", _setting_off("usersApprovalOn"),
                "`usersApprovalOn` is false."),
    PostureRule("TS-PST-007", "Webhook posts outside the allowed hosts", "medium",
                ("T1567",), "webhooks", _webhook_outside,
                "The endpoint's host is not in `posture_webhook_allowed_hosts` (if set)."),
    PostureRule("TS-PST-008", "Posture integration in error", "medium", ("T1562.001",),
                "posture_integrations", _integration_error, "`status.error` is set."),
    PostureRule("TS-PST-009", "Old user invite still open", "medium", ("T1136.003",),
                "user_invites", _invite_old,
                "Last emailed longer ago than `posture_invite_max_age_days`."),
    PostureRule("TS-PST-010", "Key expires soon", "info", (), "keys", _key_expiring,
                "A valid key expires within `posture_key_expiry_days`."),
    PostureRule("TS-PST-011", "Key never expires", "medium", ("T1098.001",), "keys",
                _key_forever, "A valid key (often an OAuth client) has no expiry."),
    PostureRule("TS-PST-012", "Tailscale SSH enabled on a device", "info", ("T1021.004",),
                _D, _device_flag("sshEnabled", True, "Tailscale SSH is on"),
                "`sshEnabled` is true."),
    PostureRule("TS-PST-013", "External device shared in", "info", ("T1199",), _D,
                _device_flag("isExternal", True, "shared in from another tailnet"),
                "`isExternal` is true."),
    PostureRule("TS-PST-014", "Device not authorized", "medium", ("T1078.004",), _D,
                _device_flag("authorized", False, "awaiting approval"),
                "`authorized` is false."),
    PostureRule("TS-PST-015", "Tailnet lock error on a device", "high", ("T1556",), _D,
                _lock_error, "`tailnetLockError` is set."),
    PostureRule("TS-PST-016", "Client many releases old", "medium", ("T1190",), _D,
                lambda src, device: iter(()),
                "At least `posture_client_releases_behind` stable releases behind the newest "
                "client in the tailnet."),
    PostureRule("TS-PST-017", "Device posture attributes expired", "medium", ("T1562.001",),
                "device_posture", _posture_expired,
                "An attribute's expiry has passed (read only when `device_posture` is "
                "selected: it costs one request per device)."),
)  # fmt: skip
OLD_CLIENT = "TS-PST-016"
RULE_IDS: frozenset[str] = frozenset(rule.rule_id for rule in RULES)


def _rows(src: Sources, source: str) -> Iterable[Obj]:
    value = getattr(src, source)
    if value is None:
        return ()
    return [value] if isinstance(value, Mapping) else value


def evaluate(src: Sources) -> Iterator[tuple[PostureRule, Hit]]:
    """Every (rule, hit) of one tailnet's snapshots; devices are read once, in one pass."""
    for rule in RULES:
        if rule.source != _D:
            for row in _rows(src, rule.source):
                for hit in rule.check(src, row):
                    yield rule, hit
    if src.devices is None:
        return
    device_rules = [r for r in RULES if r.source == _D and r.rule_id != OLD_CLIENT]
    versions: list[tuple[tuple[int, int], Obj]] = []
    for device in src.devices:
        for rule in device_rules:
            for hit in rule.check(src, device):
                yield rule, hit
        found = release(device.get("clientVersion"))
        if found is not None and not device.get("isExternal"):
            versions.append(
                (
                    found,
                    {
                        "nodeId": device.get("nodeId"),
                        "name": device.get("name"),
                        "clientVersion": device.get("clientVersion"),
                    },
                )
            )
    if versions:
        newest = max(v for v, _ in versions)
        old_rule = next(r for r in RULES if r.rule_id == OLD_CLIENT)
        for _, device in versions:
            for hit in _old_client(src, device, newest):
                yield old_rule, hit
