"""End to end: one emulator range, loaded by Meltano into every warehouse the README names.

PostgreSQL (as loaded, with the target's flattening, and with the tap's), DuckDB and
JSONL each receive the same range of an emulator whose data holds edge values
(tests/e2e/edge_values.py). Each must hold one row per key, exactly the emulator's
events, with `old`/`new` read back as the very JSON values the API sent: the string
`"true"` a string, `true` a boolean, 2^64-1 every digit. A null `extra_fields` must be
SQL NULL. The loaders run in the plugin venvs `meltano install` made; SQL runs in those
venvs' Python (psycopg, duckdb), so the test environment needs no database driver.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tests.e2e.conftest import MeltanoProject, Postgres, schema_prefix
from tests.e2e.edge_values import canonical, emulator_package, inject, loaded

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

TAILNET = "example.com"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
CASES = ("postgres", "postgres-target-flattening", "postgres-tap-flattening", "duckdb", "jsonl")
KEYS = {"configuration_audit": "event_id", "network_flow": "flow_id", "admin_audit": "event_id"}
COLUMNS = {
    "configuration_audit": ("event_id", "old", "new", "extra_fields"),
    "network_flow": ("flow_id", "nodeId", "extra_fields"),
    "admin_audit": ("event_id",),
}
# SQL through the duckdb plugin's Python: argv is the file and a JSON list of queries.
_DUCKDB_SCRIPT = """
import json, sys
import duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps([connection.sql(q).fetchall() for q in json.loads(sys.argv[2])], default=str))
"""


@dataclass(frozen=True)
class Range:
    """The loaded range and what the emulator holds in it."""

    start: datetime
    end: datetime
    config: dict[str, dict[str, Any]]  # event_id -> the event as the API sends it
    network: dict[str, dict[str, Any]]  # flow_id -> the report as the API sends it


def _quiet(dataset: Any, moment: datetime) -> datetime:
    """The first whole minute from `moment` with no entry within 2 s, so a window bound
    read as inclusive or exclusive selects the same entries."""
    for minute in range(120):
        at = moment + timedelta(minutes=minute)
        near = (at - timedelta(seconds=2), at + timedelta(seconds=2))
        if not any(dataset.configuration_events(TAILNET, *near)) and not any(
            dataset.network_logs(TAILNET, *near)
        ):
            return at
    raise AssertionError("the emulator left no quiet minute")


@pytest.fixture(scope="module")
def edge_range() -> Iterator[tuple[Any, Range]]:
    package = emulator_package()
    config = package.EmulatorConfig(
        dataset_start=NOW - timedelta(days=1),
        dataset_end=NOW,
        tailnets={
            TAILNET: package.TailnetConfig(
                config_event_interval_seconds=600,
                network_nodes=4,
                huge_counters=True,  # hard cases: counters up to 2**64 - 1
                network_interval_seconds=600,
            )
        },
    )
    with package.Emulator(config) as emulator:
        inject(emulator.dataset)
        dataset = emulator.dataset
        start = _quiet(dataset, NOW - timedelta(hours=20))
        end = _quiet(dataset, start + timedelta(hours=12))
        events = dataset.configuration_events(TAILNET, start, end)
        reports = dataset.network_logs(TAILNET, start, end)
        yield (
            emulator,
            Range(
                start=start,
                end=end,
                config={configuration_event_id(event): event for event in events},
                network={network_flow_id(report): report for report in reports},
            ),
        )


def _tap_settings(emulator: Any, loaded_range: Range) -> dict[str, Any]:
    return {
        "api_url": emulator.url,
        "api_key": "emulator-demo-key",
        "start_date": loaded_range.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": loaded_range.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lag_seconds": 0,
        "configuration_window_seconds": 21600,
        "network_window_seconds": 14400,
        "initial_backoff_seconds": 0,
    }


def _plugin(project: MeltanoProject, kind: str, name: str) -> Path:
    return project.root / ".meltano" / kind / name / "venv" / "bin" / name


def _run(command: list[str], place: Path, stdin: Path | None, config: dict[str, Any]) -> Path:
    """Run a plugin with a config file; its stdout goes to a file, which is returned."""
    config_path = place / f"{Path(command[0]).name}.json"
    config_path.write_text(json.dumps(config))
    output = place / f"{Path(command[0]).name}.out"
    with output.open("wb") as out, (stdin or Path("/dev/null")).open("rb") as source:
        result = subprocess.run(
            [*command, "--config", str(config_path)],
            stdin=source,
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=300,
            check=False,
        )
    if result.returncode != 0:
        raise AssertionError(f"{command[0]} exited {result.returncode}:\n{result.stderr[-3000:]!r}")
    return output


def _load(project: MeltanoProject, postgres: Postgres, edge: tuple[Any, Range], case: str) -> Path:
    """Load the range for `case`; return the folder it wrote to."""
    emulator, loaded_range = edge
    place = project.root / "warehouses" / case.replace("-", "_")
    place.mkdir(parents=True, exist_ok=True)
    settings = _tap_settings(emulator, loaded_range)
    if case == "duckdb":
        # Through Meltano, so meltano.yml's definition of target-duckdb is what is tested.
        env = {f"TAP_TAILSCALE_{key.upper()}": str(value) for key, value in settings.items()}
        env["TARGET_DUCKDB_PATH"] = str(place / "warehouse.duckdb")
        run = ("--environment=dev", "run", "--state-id-suffix=wh-duckdb")
        project.meltano(*run, "tap-tailscale", "target-duckdb", env=env)
        return place
    if case == "postgres-tap-flattening":
        settings |= {"flattening_enabled": True, "flattening_max_depth": 1}
    messages = _run([str(_plugin(project, "extractors", "tap-tailscale"))], place, None, settings)
    if case == "jsonl":
        _run(
            [str(_plugin(project, "loaders", "target-jsonl"))],
            place,
            messages,
            {"destination_path": str(place), "do_timestamp_file": False},
        )
        return place
    target: dict[str, Any] = {
        key.removeprefix("TARGET_POSTGRES_").lower(): value
        for key, value in postgres.settings_env.items()
    }
    target |= {
        "port": int(target["port"]),
        "default_target_schema": f"{schema_prefix()}{place.name}",
        "load_method": "upsert",
    }
    if case == "postgres-target-flattening":
        target |= {"flattening_enabled": True, "flattening_max_depth": 3}
    _run([str(_plugin(project, "loaders", "target-postgres"))], place, messages, target)
    return place


def _select(table: str, schema: str) -> str:
    # Quoted names match in DuckDB too, which lower-cases columns but compares without case.
    columns = ", ".join(f'"{name}"' for name in COLUMNS[table])
    return f'SELECT {columns} FROM "{schema}"."{table}"'


def _as_rows(results: list[Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(zip(COLUMNS[table], row, strict=True)) for row in rows or []]
        for table, rows in zip(COLUMNS, results, strict=True)
    }


def _rows_postgres(postgres: Postgres, schema: str) -> dict[str, list[dict[str, Any]]]:
    return _as_rows(postgres.run(*((None, _select(table, schema)) for table in COLUMNS)))


def _rows_duckdb(project: MeltanoProject, path: Path) -> dict[str, list[dict[str, Any]]]:
    python = project.root / ".meltano/loaders/target-duckdb/venv/bin/python"
    queries = [_select(table, "tailscale") for table in COLUMNS]
    result = subprocess.run(
        [str(python), "-c", _DUCKDB_SCRIPT, str(path), json.dumps(queries)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return _as_rows(json.loads(result.stdout))


def _rows_jsonl(place: Path) -> dict[str, list[dict[str, Any]]]:
    lines = {table: (place / f"{table}.jsonl").read_text().split("\n") for table in COLUMNS}
    return {table: [json.loads(line) for line in text if line] for table, text in lines.items()}


@pytest.mark.parametrize("case", CASES)
def test_each_warehouse_holds_exactly_what_the_api_sent(
    case: str,
    meltano_project: MeltanoProject,
    postgres: Postgres,
    edge_range: tuple[Any, Range],
) -> None:
    loaded_range = edge_range[1]
    place = _load(meltano_project, postgres, edge_range, case)
    if case == "duckdb":
        tables = _rows_duckdb(meltano_project, place / "warehouse.duckdb")
    elif case == "jsonl":
        tables = _rows_jsonl(place)
    else:
        tables = _rows_postgres(postgres, f"{schema_prefix()}{place.name}")

    expected = {
        "configuration_audit": set(loaded_range.config),
        "admin_audit": set(loaded_range.config),
        "network_flow": set(loaded_range.network),
    }
    for table, key in KEYS.items():
        keys = [row[key] for row in tables[table]]
        assert len(keys) == len(set(keys)) == len(expected[table]), (case, table)
        assert set(keys) == expected[table], (case, table)

    for row in tables["configuration_audit"]:
        sent = loaded_range.config[row["event_id"]]
        for field in ("old", "new"):
            assert canonical(loaded(row[field])) == canonical(sent.get(field)), (case, field, row)
    assert {canonical(loaded(row["old"])) for row in tables["configuration_audit"]} >= {
        canonical(value) for value in ("true", True, 2**64 - 1, 2**53 + 1, "", "null", None)
    }
    for row in tables["network_flow"]:
        sent = loaded_range.network[row["flow_id"]]
        assert row["nodeId"] == sent.get("nodeId"), (case, row)
        extra = {k: v for k, v in sent.items() if k == "futureField"}
        # SQL NULL (None here) when the API sent nothing unknown, not the JSON text null.
        assert loaded(row["extra_fields"]) == (extra or None), (case, row)
