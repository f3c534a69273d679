"""Each posture rule fires on its case and stays quiet on the nearest non-case."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tap_tailscale.inventory.posture_rules import (
    RULES,
    Sources,
    evaluate,
    release,
    releases_behind,
)
from tap_tailscale.settings import Thresholds
from tap_tailscale.timeutil import format_timestamp

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _ago(days: float) -> str:
    return format_timestamp(NOW - timedelta(days=days))


def _stream(**over: Any) -> dict[str, Any]:
    return {"logType": "configuration", "configured": True, "status": {"lastError": ""}} | over


def _device(**over: Any) -> dict[str, Any]:
    base = {
        "nodeId": "nA",
        "name": "a.ts.net",
        "sshEnabled": False,
        "isExternal": False,
        "authorized": True,
        "tailnetLockError": "",
        "clientVersion": "1.92.3-tabc",
    }
    return base | over


def _key(**over: Any) -> dict[str, Any]:
    return {"id": "k1", "keyType": "auth", "expires": _ago(-60), "invalid": False} | over


_NEWEST = _device(nodeId="nNew", clientVersion="1.92.1")
# rule ID -> (Sources fields that make it fire, the same without the cause).
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "TS-PST-001": (
        {"log_streaming": [_stream(configured=False, status=None)]},
        {"log_streaming": [_stream()]},
    ),
    "TS-PST-002": (
        {"log_streaming": [_stream(status={"lastError": "403 from SIEM"})]},
        {"log_streaming": [_stream(status={"lastError": "", "numFailedRequests": 0})]},
    ),
    "TS-PST-003": (
        {"log_streaming": [_stream(status={"numSpoofedEntries": 2})]},
        {"log_streaming": [_stream(status={"numSpoofedEntries": 0})]},
    ),
    "TS-PST-004": (
        {"tailnet_settings": {"networkFlowLoggingOn": False}},
        {"tailnet_settings": {"networkFlowLoggingOn": None}},
    ),
    "TS-PST-005": (
        {"tailnet_settings": {"devicesApprovalOn": False}},
        {"tailnet_settings": {"devicesApprovalOn": True}},
    ),
    "TS-PST-006": (
        {"tailnet_settings": {"usersApprovalOn": False}},
        {"tailnet_settings": {"usersApprovalOn": True}},
    ),
    "TS-PST-007": (
        {
            "webhooks": [{"endpointId": "1", "endpointUrl": "https://evil.example.net/h"}],
            "thresholds": Thresholds(webhook_allowed_hosts=("corp.example",)),
        },
        {
            "webhooks": [{"endpointId": "1", "endpointUrl": "https://u@hooks.Corp.example:8443/"}],
            "thresholds": Thresholds(webhook_allowed_hosts=("corp.example",)),
        },
    ),
    "TS-PST-008": (
        {"posture_integrations": [{"id": "p", "status": {"error": "401 Unauthorized"}}]},
        {"posture_integrations": [{"id": "p", "status": {"error": ""}}]},
    ),
    "TS-PST-009": (
        {"user_invites": [{"id": "i", "lastEmailSentAt": _ago(8)}]},
        {"user_invites": [{"id": "i", "lastEmailSentAt": _ago(6)}]},
    ),
    "TS-PST-010": (
        {"keys": [_key(expires=_ago(-13))]},
        {"keys": [_key(expires=_ago(-15)), _key(id="k2", expires=_ago(1))]},
    ),
    "TS-PST-011": (
        {"keys": [_key(keyType="client", expires=None)]},
        {"keys": [_key(expires=None, invalid=True), _key(revoked=_ago(1), expires=None)]},
    ),
    "TS-PST-012": ({"devices": [_device(sshEnabled=True)]}, {"devices": [_device()]}),
    "TS-PST-013": ({"devices": [_device(isExternal=True)]}, {"devices": [_device()]}),
    "TS-PST-014": ({"devices": [_device(authorized=False)]}, {"devices": [_device()]}),
    "TS-PST-015": (
        {"devices": [_device(tailnetLockError="node is not signed")]},
        {"devices": [_device()]},
    ),
    "TS-PST-017": (
        {"device_posture": [{"nodeId": "nA", "expiries": json.dumps({"custom:ok": _ago(1)})}]},
        {
            "device_posture": [
                {"nodeId": "nA", "expiries": {"custom:ok": _ago(-1)}},
                {"nodeId": "nB", "expiries": "not json"},
                {"nodeId": "nC", "expiries": None},
            ]
        },
    ),
    "TS-PST-016": (
        {"devices": [_NEWEST, _device(clientVersion="1.86.0")]},
        {"devices": [_NEWEST, _device(clientVersion="1.88.0")]},
    ),
}


def _fired(fields: dict[str, Any]) -> list[str]:
    sources = Sources(now=NOW, **fields)
    return [rule.rule_id for rule, _ in evaluate(sources)]


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == {rule.rule_id for rule in RULES}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_its_case(rule_id: str) -> None:
    assert rule_id in _fired(CASES[rule_id][0])


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_is_quiet_without_the_cause(rule_id: str) -> None:
    assert rule_id not in _fired(CASES[rule_id][1])


def test_unread_snapshots_raise_nothing() -> None:
    assert _fired({}) == []


def test_webhook_rule_is_off_without_an_allow_list() -> None:
    hooks = [{"endpointId": "1", "endpointUrl": "https://anywhere.example/"}]
    assert _fired({"webhooks": hooks}) == []


def test_release_arithmetic() -> None:
    assert release("1.92.3-t1a2b3c4d5-g6e7f8a9b0") == (1, 92)
    assert release("") is None
    assert releases_behind((1, 86), (1, 92)) == 3
    assert releases_behind((1, 91), (1, 92)) == 1
    assert releases_behind((1, 92), (1, 92)) == 0
    assert releases_behind((0, 99), (1, 2)) == 100


def test_external_devices_do_not_set_the_newest_release() -> None:
    external = _device(nodeId="nX", isExternal=True, clientVersion="1.99.0")
    assert "TS-PST-016" not in _fired({"devices": [external, _device()]})
