"""Posture streams synced against the emulator: exact objects, missing scopes, secrets."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tailscale_emulator import Emulator, posture_data
from tailscale_emulator.timefmt import to_ns
from tap_tailscale.errors import REDACTED
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import DEMO_KEY, NOW, fast_settings, run_tap
from tests.posture_support import POSTURE, TAILNET, expected_object, matches


def _settings(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    window = {
        "start_date": format_timestamp(NOW - timedelta(hours=2)),
        "end_date": format_timestamp(NOW),
    }
    return fast_settings(emulator.url, **{**window, **overrides})


def test_posture_records_equal_the_emulators_objects(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=POSTURE)
    assert run.error is None
    now = to_ns(emulator.config.dataset_end)
    cfg = emulator.config.tailnets[TAILNET]
    (settings,) = run.records["tailnet_settings"]
    assert {k: settings[k] for k in posture_data.settings(cfg)} == posture_data.settings(cfg)
    assert settings["missing_scopes"] == []
    hooks = posture_data.webhooks(TAILNET, now, plant=False)["webhooks"]
    matches(run.records["webhooks"], hooks, "endpointId")
    integrations = posture_data.posture_integrations(TAILNET, now, plant=False)
    matches(run.records["posture_integrations"], integrations["integrations"], "id")
    matches(run.records["user_invites"], posture_data.user_invites(TAILNET, now), "id")
    services = posture_data.services(TAILNET)["vipServices"]
    matches(run.records["services"], services, "name")
    node_ids = [d["nodeId"] for d in emulator.dataset.devices(TAILNET, "default")]
    for record in run.records["services"]:
        hosts = posture_data.service_hosts(record["name"], node_ids)
        assert hosts is not None
        assert record["hosts"] == hosts["hosts"]
        assert record["hosts_error"] is None
    contacts = posture_data.contacts(TAILNET)
    by_type = {r["contactType"]: r for r in run.records["contacts"]}
    assert set(by_type) == set(contacts)
    for kind, contact in contacts.items():
        assert {k: by_type[kind][k] for k in contact} == contact


def test_log_streaming_has_a_row_per_log_type(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=("log_streaming",))
    rows = {r["logType"]: r for r in run.records["log_streaming"]}
    assert set(rows) == {"configuration", "network"}
    configured = posture_data.log_stream(TAILNET, "configuration", plant=False)
    assert configured is not None
    assert {k: rows["configuration"][k] for k in configured if k != "logType"} == {
        k: v for k, v in configured.items() if k != "logType"
    }
    assert rows["configuration"]["configured"] is True
    status = posture_data.log_stream_status("configuration", to_ns(emulator.config.dataset_end))
    assert status is not None
    assert rows["configuration"]["status"] == expected_object(status)
    assert rows["network"]["configured"] is False
    assert rows["network"]["status"] is None
    assert rows["network"]["synced_at"] == rows["configuration"]["synced_at"]


# scope -> the streams that need it, and a text each one's warning holds.
DENIED: dict[str, dict[str, str]] = {
    "feature_settings:read": {
        "tailnet_settings": "feature_settings:read",
        "posture_integrations": "feature_settings:read",
    },
    "log_streaming:read": {"log_streaming": "log_streaming:read"},
    "webhooks:read": {"webhooks": "webhooks:read"},
    "users:read": {"user_invites": "users:read"},
    "services:read": {"services": "services:read"},
    "account_settings:read": {"contacts": "account_settings:read"},
    "logs:network:read": {"tailnet_settings": "logs:network:read"},
    "policy_file:read": {"tailnet_settings": "policy_file:read"},
}


@pytest.mark.parametrize("scope", sorted(DENIED))
def test_each_denied_scope_gives_one_warning_per_stream(
    scope: str, make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emulator = make_emulator(denied_scopes=(scope,))
    run = run_tap(_settings(emulator), streams=POSTURE)
    assert run.error is None
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for stream in POSTURE:
        mine = [line for line in lines if line.startswith(f"{stream} [tailnet ")]
        if stream in DENIED[scope]:
            assert len(mine) == 1, (stream, mine)
            assert DENIED[scope][stream] in mine[0]
        else:
            assert mine == [], (stream, mine)
            assert run.records.get(stream), stream


def test_findings_say_which_rules_a_missing_scope_left_out(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emulator = make_emulator(denied_scopes=("webhooks:read",))
    run = run_tap(_settings(emulator), streams=("posture_findings",))
    assert run.error is None
    messages = [r.getMessage() for r in caplog.records]
    lines = [line for line in messages if "posture_findings [tailnet" in line]
    assert len(lines) == 1
    assert "TS-PST-007" in lines[0]
    assert "webhooks:read" in lines[0]
    assert {r["rule_id"] for r in run.records["posture_findings"]} >= {"TS-PST-001", "TS-PST-008"}


def _planted_values(emulator: Emulator) -> list[str]:
    keys = emulator.dataset.keys(TAILNET)
    values = [posture_data.planted(TAILNET, "key", i) for i in range(len(keys))]
    values += [posture_data.planted(TAILNET, f) for f in ("token", "s3SecretAccessKey")]
    values.append(posture_data.planted(TAILNET, "gcsCredentials"))
    values += [posture_data.planted(TAILNET, "secret", i) for i in range(2)]
    values += [posture_data.planted(TAILNET, "clientSecret", i) for i in range(2)]
    values += [posture_data.planted(TAILNET, "inviteUrl", i) for i in (0, 2)]
    return values


def _device_invite_tokens(emulator: Emulator) -> list[str]:
    """The token of every device invite link the emulator serves."""
    api = f"{emulator.url}/api/v2"
    devices = requests.get(f"{api}/tailnet/-/devices", auth=(DEMO_KEY, ""), timeout=10)
    tokens = []
    for device in devices.json()["devices"]:
        invites = requests.get(
            f"{api}/device/{device['id']}/device-invites", auth=(DEMO_KEY, ""), timeout=10
        )
        tokens += [invite["inviteUrl"].rsplit("/", 1)[1] for invite in invites.json()]
    assert tokens, "the emulator shares some devices"
    assert all(len(token) >= 8 for token in tokens), "long enough to find without chance"
    return tokens


def test_planted_secrets_appear_nowhere(
    make_emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = make_emulator(plant_secrets=True)
    planted = _planted_values(emulator)
    assert len(set(planted)) == len(planted) > 10
    record_dir = tmp_path / "recording"
    settings = _settings(emulator, record_dir=str(record_dir))
    run = run_tap(settings, streams=(*POSTURE, "keys", "device_invites", "posture_findings"))
    assert run.error is None
    assert run.records["keys"]
    assert run.records["device_invites"]
    # Device invite links work as bearer links too: their token is the secret (served by
    # the emulator's own per-device answers, fetched in _device_invite_tokens).
    invite_tokens = _device_invite_tokens(emulator)
    assert any(r["inviteUrl"] for r in run.records["user_invites"])
    recorded = "".join(p.read_text("utf-8") for p in sorted(record_dir.iterdir()))
    assert REDACTED in recorded  # the bodies did hold them
    places = {
        "output": json.dumps(run.messages),
        "state": json.dumps(run.final_state),
        "stderr": run.stderr,
        "logs": caplog.text,
        "recording": recorded,
    }
    secrets = planted + invite_tokens
    leaks = [(where, v) for v in secrets for where, text in places.items() if v in text]
    assert leaks == []
    # The emulator did send every one: without the tap's care they would be there.
    paths = (
        "keys?all=true",
        "logging/configuration/stream",
        "webhooks",
        "posture/integrations",
        "user-invites",
    )
    served = "".join(
        requests.get(
            f"{emulator.url}/api/v2/tailnet/-/{path}", auth=(DEMO_KEY, ""), timeout=10
        ).text
        for path in paths
    )
    assert [v for v in planted if v not in served] == []


def test_findings_follow_the_emulators_snapshots(emulator: Emulator) -> None:
    settings = _settings(emulator, posture_webhook_allowed_hosts=[TAILNET])
    run = run_tap(settings, streams=("posture_findings",))
    again = run_tap(settings, streams=("posture_findings",))
    assert run.error is None
    rows = run.records["posture_findings"]
    by_rule: dict[str, set[str]] = {}
    for row in rows:
        by_rule.setdefault(row["rule_id"], set()).add(row["subject_id"])
    devices = emulator.dataset.devices(TAILNET, "all")
    assert by_rule["TS-PST-001"] == {"network"}
    assert by_rule["TS-PST-002"] == by_rule["TS-PST-003"] == {"configuration"}
    assert by_rule["TS-PST-005"] == {TAILNET}
    assert by_rule["TS-PST-007"] == {"482977"}
    assert by_rule["TS-PST-008"] == {"pIn7uNe9xkq2CNTRL"}
    assert by_rule["TS-PST-009"] == {"29214"}
    keys = emulator.dataset.keys(TAILNET)
    assert by_rule["TS-PST-011"] == {k["id"] for k in keys if not k.get("expires")}
    assert by_rule["TS-PST-012"] == {d["nodeId"] for d in devices if d.get("sshEnabled")}
    assert by_rule["TS-PST-013"] == {d["nodeId"] for d in devices if d.get("isExternal")}
    for absent in ("TS-PST-004", "TS-PST-006", "TS-PST-014", "TS-PST-015"):
        assert absent not in by_rule
    assert {r["finding_id"] for r in rows} == {
        r["finding_id"] for r in again.records["posture_findings"]
    }
    assert len({r["finding_id"] for r in rows}) == len(rows)


def test_severity_overrides_rerate_and_switch_off_posture_rules(emulator: Emulator) -> None:
    overrides = {"rule:TS-PST-012": "off", "rule:TS-PST-013": "high"}
    run = run_tap(_settings(emulator, severity_overrides=overrides), streams=("posture_findings",))
    assert run.error is None
    rows = run.records["posture_findings"]
    assert "TS-PST-012" not in {r["rule_id"] for r in rows}
    assert {r["severity"] for r in rows if r["rule_id"] == "TS-PST-013"} == {"high"}
    bad = run_tap(
        _settings(emulator, severity_overrides={"rule:TS-PST-099": "off"}),
        streams=("posture_findings",),
    )
    assert bad.error is not None
    assert "TS-PST-099" in str(bad.error)
