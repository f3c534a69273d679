"""The emulator's planted scenario and the dbt project's rule table agree (offline).

The scenario itself is checked end to end by tests/e2e/test_dbt.py (dbt on the loaded
data); here: its shape, its phases, and that every TS-H rule has a model, planted cases,
and a positive and a negative unit test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tailscale_emulator import EmulatorConfig
from tailscale_emulator.cli import build_config
from tailscale_emulator.planted import EXPECTED, PHASE_TWO_AFTER, PlantedDataset, plant_days
from tailscale_emulator.server import Emulator
from tests.conftest import DEMO_KEY

TRANSFORM = Path(__file__).resolve().parents[1] / "transform"
TAILNET = "example.com"
# A Saturday evening start: the plant days must still be weekdays.
START = datetime(2026, 11, 21, 19, 30, tzinfo=UTC)


def _rules() -> dict[str, Any]:
    project = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text(encoding="utf-8"))
    rules: dict[str, Any] = project["vars"]["tt_rules"]
    return rules


def _unit_tests() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in (TRANSFORM / "models" / "detections").glob("_unit_tests_*.yml"):
        found += yaml.safe_load(path.read_text(encoding="utf-8"))["unit_tests"]
    return found


def _dataset(end: datetime) -> PlantedDataset:
    return PlantedDataset(EmulatorConfig(dataset_start=START, dataset_end=end, planted=True))


def test_every_rule_has_a_model_planted_cases_and_both_unit_tests() -> None:
    rules = _rules()
    models = {p.stem[:8]: p.stem for p in (TRANSFORM / "models" / "detections").glob("*.sql")}
    assert sorted(EXPECTED) == sorted(rules)
    assert sorted(models) == sorted(r.lower().replace("-", "_") for r in rules)
    for rule_id, rule in rules.items():
        assert {"title", "severity", "attack", "fires"} <= set(rule), rule_id
        assert rule["severity"] in {"high", "medium", "low", "info"}
        assert all(a.startswith("T1") for a in rule["attack"]), rule_id
        assert EXPECTED[rule_id], rule_id
    for stem in models.values():
        tests = [t for t in _unit_tests() if t["model"] == stem]
        assert any(t["expect"]["rows"] for t in tests), f"{stem}: no positive unit test"
        assert any(t["expect"]["rows"] == [] for t in tests), f"{stem}: no negative unit test"


def test_plant_days_are_weekdays_before_phase_two() -> None:
    days = plant_days(int(START.timestamp()) * 10**9)
    moments = [datetime.fromtimestamp(d // 10**9, UTC) for d in days]
    assert len(moments) == 3
    assert all(m.weekday() < 5 for m in moments)
    assert all(START < m < START + PHASE_TWO_AFTER for m in moments)


def test_background_changes_stay_in_working_hours() -> None:
    dataset = _dataset(START + PHASE_TWO_AFTER)
    events = list(dataset.all_configuration_events(TAILNET))
    background = [e for e in events if e["origin"] == "CONFIG_API" and e["actor"]["id"] != ""]
    assert background
    for event in events:
        moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
        assert START <= moment < START + PHASE_TWO_AFTER
    regular = [
        datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
        for e in events
        if e["target"].get("property") == "MACHINE_NAME" and e["origin"] == "CONFIG_API"
    ]
    assert all(m.weekday() < 5 and 10 <= m.hour < 17 for m in regular)
    actions = [e["action"] for e in events]
    assert actions.count("REVOKE") == 6
    assert sum(e["target"].get("property") == "ACL" for e in events) == 6


def test_phase_two_switches_ssh_on_and_removes_a_device() -> None:
    first = {d["hostname"]: d for d in _dataset(START + PHASE_TWO_AFTER).devices(TAILNET)}
    later = START + PHASE_TWO_AFTER + timedelta(minutes=1)
    second = {d["hostname"]: d for d in _dataset(later).devices(TAILNET)}
    assert first["db-1"]["sshEnabled"] is False
    assert second["db-1"]["sshEnabled"] is True
    assert second["build-1"]["tags"] != first["build-1"]["tags"]
    assert "temp-build" in first
    assert "temp-build" not in second
    assert {k: v for k, v in first["web-1"].items() if k != "lastSeen"} == {
        k: v for k, v in second["web-1"].items() if k != "lastSeen"
    }


def test_flows_come_from_the_inventory_devices_hourly() -> None:
    end = START + timedelta(days=2)
    dataset = _dataset(end)
    records = list(dataset.all_network_logs(TAILNET))
    node_ids = {d["nodeId"] for d in dataset.devices(TAILNET)}
    assert {r["nodeId"] for r in records} <= node_ids
    assert len(records) == 4 * 48


@pytest.mark.parametrize(("flag", "planted"), [([], False), (["--plant-detections"], True)])
def test_cli_switch_and_server_pick_the_planted_dataset(flag: list[str], planted: bool) -> None:
    from tailscale_emulator.cli import _parser  # noqa: PLC0415 - the parser is private

    config = build_config(_parser().parse_args(flag))
    assert config.planted is planted
    assert isinstance(Emulator(config).dataset, PlantedDataset) is planted


def test_the_devices_route_serves_the_planted_devices() -> None:
    # The devices route streams its answer (iter_devices): it must be the planted list
    # the TS-H rules are planted on, not the default dataset's devices.
    end = START + timedelta(days=2)
    config = EmulatorConfig(dataset_start=START, dataset_end=end, planted=True)
    with Emulator(config) as emulator:
        answer = requests.get(
            f"{emulator.url}/api/v2/tailnet/{TAILNET}/devices",
            auth=(DEMO_KEY, ""),
            timeout=10,
        )
    assert answer.status_code == 200
    served = {d["hostname"] for d in answer.json()["devices"]}
    assert served == {d["hostname"] for d in _dataset(end).devices(TAILNET)}
    assert {"db-1", "web-1", "build-1"} <= served
