"""docs/warehouse-sql.md runs as written on PostgreSQL and DuckDB, and its answers are right.

The tap loads one day of the emulator into target-postgres and target-duckdb (the plugins
Meltano installed from meltano.yml); every query of the page then runs in both, and the
answers that can be checked against the emulator's own objects are.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tailscale_emulator import Emulator, EmulatorConfig
from tests.conftest import NOW
from tests.e2e.conftest import MeltanoProject, Postgres, schema_prefix
from tests.e2e.test_warehouses import _DUCKDB_SCRIPT, _plugin, _run

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TAILNET = "example.com"
# Queries about change over time: one load holds one snapshot, so they may answer nothing.
NEEDS_HISTORY = {"devices_gone_from_inventory"}
_QUERY = re.compile(r"<!-- query: (\w+) -->\s*```sql\n(.*?)```", re.S)


def queries() -> dict[str, str]:
    found = dict(_QUERY.findall((ROOT / "docs" / "warehouse-sql.md").read_text()))
    assert {"top_talkers", "who_reached_port", "devices_never_seen_in_flow_logs"} <= set(found)
    return found


@pytest.fixture(scope="module")
def loaded(meltano_project: MeltanoProject, postgres: Postgres) -> tuple[Emulator, str, Path]:
    emulator = Emulator(
        EmulatorConfig(dataset_start=NOW - timedelta(days=1), dataset_end=NOW)
    ).start()
    place = meltano_project.root / "warehouse_sql"
    place.mkdir(parents=True, exist_ok=True)
    settings = {
        "api_url": emulator.url,
        "api_key": "emulator-demo-key",
        "start_date": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lag_seconds": 0,
    }
    try:
        tap = str(_plugin(meltano_project, "extractors", "tap-tailscale"))
        messages = _run([tap], place, None, settings)
    finally:
        emulator.stop()
    schema = f"{schema_prefix()}sql"
    target: dict[str, Any] = {
        key.removeprefix("TARGET_POSTGRES_").lower(): value
        for key, value in postgres.settings_env.items()
    }
    target |= {"port": int(target["port"]), "default_target_schema": schema}
    target |= {"load_method": "upsert", "validate_records": False}
    _run([str(_plugin(meltano_project, "loaders", "target-postgres"))], place, messages, target)
    duckdb_path = place / "warehouse.duckdb"
    duckdb = {"path": str(duckdb_path), "default_target_schema": "tailscale"}
    _run([str(_plugin(meltano_project, "loaders", "target-duckdb"))], place, messages, duckdb)
    return emulator, schema, duckdb_path


def _postgres(postgres: Postgres, schema: str, sql: str) -> list[list[Any]]:
    results = postgres.run((None, f'SET search_path TO "{schema}"'), (None, sql))
    rows = results[1]
    assert rows is not None
    return rows


def _duckdb(project: MeltanoProject, path: Path, sql: str) -> list[list[Any]]:
    python = project.root / ".meltano/loaders/target-duckdb/venv/bin/python"
    script = _DUCKDB_SCRIPT.replace(
        "connection = duckdb.connect(sys.argv[1], read_only=True)",
        "connection = duckdb.connect(sys.argv[1], read_only=True)\nconnection.sql('USE tailscale')",
    )
    result = subprocess.run(
        [str(python), "-c", script, str(path), json.dumps([sql])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)[0]


@pytest.mark.parametrize("name", sorted(queries()))
def test_every_query_runs_on_both_warehouses_with_the_same_answer(
    name: str,
    loaded: tuple[Emulator, str, Path],
    postgres: Postgres,
    meltano_project: MeltanoProject,
) -> None:
    _, schema, duckdb_path = loaded
    sql = queries()[name]
    in_postgres = _postgres(postgres, schema, sql)
    in_duckdb = _duckdb(meltano_project, duckdb_path, sql)
    if name not in NEEDS_HISTORY:
        assert in_postgres, f"{name}: no rows"
    # The same rows in the same order. Numbers and arrays print differently (NUMERIC vs
    # DOUBLE, JSONB vs LIST), so rows are compared by their leading identifying column.
    assert len(in_postgres) == len(in_duckdb)
    assert [str(row[0]) for row in in_postgres] == [str(row[0]) for row in in_duckdb]


def test_the_answers_match_the_emulators_inventory(
    loaded: tuple[Emulator, str, Path], postgres: Postgres
) -> None:
    emulator, schema, _ = loaded
    sql = queries()
    idle = {row[0] for row in _postgres(postgres, schema, sql["devices_never_seen_in_flow_logs"])}
    reporting = set(emulator.dataset.reporting_node_ids(TAILNET))
    inventory = {d["nodeId"] for d in emulator.dataset.devices(TAILNET, "all")}
    assert idle
    assert idle <= inventory - reporting
    gone = {
        row[0] for row in _postgres(postgres, schema, sql["flows_from_devices_not_in_inventory"])
    }
    assert gone
    assert gone <= reporting - inventory
    talkers = _postgres(postgres, schema, sql["top_talkers"])
    names = {d["nodeId"]: d["name"] for d in emulator.dataset.devices(TAILNET, "all")}
    for node_id, device_name, *_ in talkers:
        assert device_name == names.get(node_id)


def test_per_device_rows_equal_the_emulators_answers(
    loaded: tuple[Emulator, str, Path], postgres: Postgres, meltano_project: MeltanoProject
) -> None:
    emulator, schema, duckdb_path = loaded
    dataset = emulator.dataset
    devices = dataset.devices(TAILNET, "all")
    sent = {d["nodeId"]: dataset.device_attributes(TAILNET, d["nodeId"]) for d in devices}
    posture = 'SELECT "nodeId", attributes, expiries FROM device_posture ORDER BY "nodeId";'
    for rows in (
        _postgres(postgres, schema, posture),
        _duckdb(meltano_project, duckdb_path, posture),
    ):
        assert {row[0] for row in rows} == set(sent)
        for node_id, attributes, expiries in rows:
            as_json = [v if isinstance(v, dict) else json.loads(v) for v in (attributes, expiries)]
            answer = sent[node_id]
            assert answer is not None
            assert as_json == [answer["attributes"], answer["expiries"]]
    invites = {
        invite["id"]: (device["nodeId"], invite)
        for device in devices
        for invite in dataset.device_invites(TAILNET, device["nodeId"]) or []
    }
    assert invites
    rows = _postgres(
        postgres, schema, 'SELECT id, "nodeId", "deviceId", email, "inviteUrl" FROM device_invites;'
    )
    assert {row[0] for row in rows} == set(invites)
    for invite_id, node_id, device_id, email, url in rows:
        expected_node, invite = invites[invite_id]
        assert (node_id, int(device_id), email) == (
            expected_node,
            invite["deviceId"],
            invite["email"],
        )
        assert url == invite["inviteUrl"].rsplit("/", 1)[0] + "/[redacted]"
