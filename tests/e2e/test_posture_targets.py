"""End to end: the posture streams loaded by target-jsonl and target-duckdb hold exactly
the emulator's objects (secrets dropped, invite links cut), one row per key."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tailscale_emulator import Emulator, EmulatorConfig
from tests.conftest import NOW
from tests.e2e.conftest import MeltanoProject
from tests.e2e.test_warehouses import _DUCKDB_SCRIPT, _plugin, _run
from tests.posture_support import POSTURE, emulator_objects, expected_object, matches

pytestmark = pytest.mark.e2e

# Scalar columns compared in DuckDB (the target may flatten or re-type nested ones).
_SCALARS = {
    "webhooks": ("endpointId", "endpointUrl", "providerType", "creatorLoginName"),
    "posture_integrations": ("id", "provider", "cloudId", "clientId"),
    "user_invites": ("id", "role", "email", "inviteUrl"),
    "services": ("name", "comment"),
    "contacts": ("contactType", "email", "fallbackEmail"),
}


@pytest.fixture(scope="module")
def loaded(meltano_project: MeltanoProject) -> tuple[Emulator, Path]:
    emulator = Emulator(
        EmulatorConfig(dataset_start=NOW - timedelta(hours=2), dataset_end=NOW)
    ).start()
    place = meltano_project.root / "posture_targets"
    place.mkdir(parents=True, exist_ok=True)
    catalog = place / "catalog.json"
    tap = str(_plugin(meltano_project, "extractors", "tap-tailscale"))
    settings = {
        "api_url": emulator.url,
        "api_key": "emulator-demo-key",
        "start_date": (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lag_seconds": 0,
    }
    try:
        discovered = json.loads(_run([tap, "--discover"], place, None, settings).read_text())
        for entry in discovered["streams"]:
            selected = entry["tap_stream_id"] in POSTURE
            for metadata in entry["metadata"]:
                if not metadata["breadcrumb"]:
                    metadata["metadata"]["selected"] = selected
        catalog.write_text(json.dumps(discovered))
        messages = _run([tap, "--catalog", str(catalog)], place, None, settings)
    finally:
        emulator.stop()
    jsonl = {"destination_path": str(place), "do_timestamp_file": False}
    _run([str(_plugin(meltano_project, "loaders", "target-jsonl"))], place, messages, jsonl)
    duckdb = {"path": str(place / "posture.duckdb"), "default_target_schema": "tailscale"}
    _run([str(_plugin(meltano_project, "loaders", "target-duckdb"))], place, messages, duckdb)
    return emulator, place


def _jsonl(place: Path, table: str) -> list[dict[str, Any]]:
    lines = (place / f"{table}.jsonl").read_text().split("\n")
    return [json.loads(line) for line in lines if line]


def test_jsonl_holds_exactly_the_emulators_objects(loaded: tuple[Emulator, Path]) -> None:
    emulator, place = loaded
    for table, (objects, key) in emulator_objects(emulator).items():
        matches(_jsonl(place, table), objects, key)
    rows = {r["logType"]: r for r in _jsonl(place, "log_streaming")}
    assert (rows["configuration"]["configured"], rows["network"]["configured"]) == (True, False)
    assert len(_jsonl(place, "tailnet_settings")) == 1


def test_duckdb_holds_one_row_per_key_with_the_emulators_values(
    loaded: tuple[Emulator, Path], meltano_project: MeltanoProject
) -> None:
    emulator, place = loaded
    python = meltano_project.root / ".meltano/loaders/target-duckdb/venv/bin/python"
    tables = emulator_objects(emulator)
    queries = [
        "SELECT " + ", ".join(f'"{c}"' for c in _SCALARS[t]) + f' FROM tailscale."{t}"'
        for t in tables
    ]
    result = subprocess.run(
        [str(python), "-c", _DUCKDB_SCRIPT, str(place / "posture.duckdb"), json.dumps(queries)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for (table, (objects, key)), rows in zip(
        tables.items(), json.loads(result.stdout), strict=True
    ):
        columns = _SCALARS[table]
        got = sorted(
            (dict(zip(columns, row, strict=True)) for row in rows), key=lambda r: str(r[key])
        )
        # target-duckdb loads through CSV, where an empty string reads back as NULL.
        want = sorted(
            ({c: expected_object(o).get(c) or None for c in columns} for o in objects),
            key=lambda r: str(r[key]),
        )
        assert got == want, table
