"""A device shared into a second tailnet keeps one row per tailnet in target-postgres.

The live API lists a shared device in both tailnets with the same `nodeId`; keyed by
(`tailnet`, `nodeId`), an upserting target holds both rows, run after run.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tailscale_emulator import Credential, Emulator, EmulatorConfig, TailnetConfig
from tests.conftest import NOW, fast_settings, run_tap
from tests.e2e.conftest import MeltanoProject, Postgres, schema_prefix
from tests.e2e.test_warehouses import _plugin, _run

pytestmark = pytest.mark.e2e

TAILNETS = ("example.com", "partner.example")
STREAMS = ("devices", "users", "keys")


def _messages(place: Path, run_number: int) -> Path:
    tailnets = {
        "example.com": TailnetConfig(),
        "partner.example": TailnetConfig(devices_shared_from="example.com"),
    }
    keys = {"k": Credential(other_tailnets=("partner.example",))}
    config = EmulatorConfig(
        dataset_start=NOW - timedelta(hours=2), dataset_end=NOW, tailnets=tailnets, api_keys=keys
    )
    with Emulator(config) as emulator:
        run = run_tap(
            fast_settings(emulator.url, api_key="k", tailnets=list(TAILNETS)), streams=STREAMS
        )
    assert run.error is None
    path = place / f"tap-{run_number}.jsonl"
    path.write_text("".join(json.dumps(m) + "\n" for m in run.messages))
    return path


def test_a_shared_device_keeps_a_row_in_each_tailnet(
    meltano_project: MeltanoProject, postgres: Postgres
) -> None:
    place = meltano_project.root / "shared_device"
    place.mkdir(parents=True, exist_ok=True)
    schema = f"{schema_prefix()}shared"
    target: dict[str, Any] = {
        key.removeprefix("TARGET_POSTGRES_").lower(): value
        for key, value in postgres.settings_env.items()
    }
    target |= {"port": int(target["port"]), "default_target_schema": schema}
    target |= {"load_method": "upsert", "validate_records": False}
    loader = [str(_plugin(meltano_project, "loaders", "target-postgres"))]
    for run_number in (1, 2):  # the second snapshot upserts over the first
        _run(loader, place, _messages(place, run_number), target)
    rows = postgres.query(
        f'SELECT tailnet, "nodeId", "isExternal" FROM "{schema}".devices ORDER BY 1, 2'
    )
    by_node: dict[str, dict[str, bool]] = {}
    for tailnet, node_id, external in rows:
        by_node.setdefault(node_id, {})[tailnet] = external
    shared = {node: seen for node, seen in by_node.items() if len(seen) == 2}
    assert len(shared) == 1, rows
    assert next(iter(shared.values())) == {"example.com": False, "partner.example": True}
    assert len(rows) == len({(t, n) for t, n, _ in rows})
    for table in ("users", "keys"):
        (count,) = postgres.query(f'SELECT COUNT(DISTINCT tailnet) FROM "{schema}".{table}')[0]
        assert count == 2, table
