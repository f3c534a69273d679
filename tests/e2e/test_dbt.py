"""The dbt project (transform/) on data the tap loaded from the planted emulator.

`meltano run tap-tailscale <target> dbt-<adapter>:build` runs twice, as a user's schedule
would: once on the planted scenario, once more after the inventory changed (phase two: SSH
switched on, a tag added, a device gone). Then each TS-H detection must name exactly its
planted cases (`tailscale_emulator.planted.EXPECTED`), the union must hold the tap's own
findings too, and the device history must show the changes. DuckDB always; PostgreSQL when
TAP_TAILSCALE_PG_DSN is set.

These tests install dbt from PyPI (`meltano install`), so they run only when asked:
`TAP_TAILSCALE_DBT_TESTS=1 python -m pytest -m dbt` (`.ci/run` does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import REPO, MeltanoProject, Postgres, find_meltano, schema_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.dbt,
    pytest.mark.skipif(
        os.environ.get("TAP_TAILSCALE_DBT_TESTS") != "1",
        reason="dbt tests install dbt from PyPI; set TAP_TAILSCALE_DBT_TESTS=1",
    ),
]
_DUCKDB_SCRIPT = """
import json, sys
import duckdb
db = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps([db.sql(q).fetchall() for q in json.loads(sys.argv[2])], default=str))
"""
_FINDINGS = "SELECT rule_id, subject FROM {schema}.detections WHERE source = 'dbt'"
_TAP_FINDINGS = "SELECT count(*) FROM {schema}.detections WHERE source = 'tap'"
_LIFECYCLE = (
    "SELECT current_hostname, ssh_enabled_at IS NOT NULL, tags_changed_at IS NOT NULL, "
    "disappeared_at IS NOT NULL, versions FROM {schema}.device_lifecycle"
)


@pytest.fixture(scope="module")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """A copy of the Meltano project with transform/, every plugin installed."""
    executable = find_meltano()
    if executable is None:
        pytest.fail("meltano is not installed; `pip install 'meltano>=4.4,<5'`")
    root = tmp_path_factory.mktemp("dbt-project")
    text = (REPO / "meltano.yml").read_text()
    text = re.sub(r"(?m)^(\s*pip_url:) -e \.$", rf"\1 -e {REPO}", text)
    (root / "meltano.yml").write_text(text)
    shutil.copytree(
        REPO / "transform",
        root / "transform",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    (root / "output").mkdir()
    project = MeltanoProject(root=root, executable=executable)
    project.meltano("install", timeout=1200)
    return project


def _load_twice(project: MeltanoProject, target: str, env: dict[str, str]) -> None:
    """Both phases of the scenario, each `tap target dbt:build` in one `meltano run`."""
    package = pytest.importorskip("tailscale_emulator")
    planted = pytest.importorskip("tailscale_emulator.planted")
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - planted.PHASE_TWO_AFTER
    config = package.EmulatorConfig(dataset_start=start, dataset_end=end, planted=True)
    adapter = "dbt-duckdb" if target == "target-duckdb" else "dbt-postgres"
    with package.Emulator(config) as emulator:
        env = env | {
            "TAP_TAILSCALE_API_URL": emulator.url,
            "TAP_TAILSCALE_API_KEY": package.DEFAULT_API_KEY,
            "TAP_TAILSCALE_START_DATE": start.isoformat().replace("+00:00", "Z"),
        }
        command = ["--environment=demo", "run", "tap-tailscale", target, f"{adapter}:build"]
        project.meltano(*command, env=env, timeout=900)
        config.dataset_end = end + timedelta(minutes=1)  # phase two: the inventory changes
        project.meltano(*command, env=env, timeout=900)


def _check(findings: list[Any], tap_findings: int, lifecycle: list[Any]) -> None:
    planted = pytest.importorskip("tailscale_emulator.planted")
    found: dict[str, Counter[str]] = {}
    for rule_id, subject in findings:
        found.setdefault(rule_id, Counter())[subject] += 1
    expected = {rule: Counter(subjects) for rule, subjects in planted.EXPECTED.items()}
    assert found == expected
    assert tap_findings > 0  # the tap's per-event findings are in the union too
    by_host = {row[0]: row[1:] for row in lifecycle if row[0] is not None}
    assert by_host["db-1"][0] is True  # SSH switched on
    assert by_host["build-1"][1] is True  # tags changed
    assert by_host["web-1"] == (False, False, False, 1)
    gone = [row for row in lifecycle if row[0] is None]
    assert [row[3] for row in gone] == [True]  # temp-build disappeared


def test_duckdb_build_finds_exactly_the_planted_cases(dbt_project: MeltanoProject) -> None:
    database = dbt_project.root / "output" / "warehouse.duckdb"
    _load_twice(dbt_project, "target-duckdb", {})
    python = dbt_project.root / ".meltano/loaders/target-duckdb/venv/bin/python"
    queries = [q.format(schema="tailscale_dbt") for q in (_FINDINGS, _TAP_FINDINGS, _LIFECYCLE)]
    result = subprocess.run(
        [str(python), "-c", _DUCKDB_SCRIPT, str(database), json.dumps(queries)],
        capture_output=True,
        text=True,
        check=True,
    )
    findings, tap_findings, lifecycle = json.loads(result.stdout)
    _check(findings, tap_findings[0][0], [tuple(row) for row in lifecycle])


@pytest.fixture
def dbt_postgres(dbt_project: MeltanoProject) -> Iterator[tuple[Postgres, str, str]]:
    """The PostgreSQL of TAP_TAILSCALE_PG_DSN, and this test's source and model schemas."""
    dsn = os.environ.get("TAP_TAILSCALE_PG_DSN", "").strip()
    if not dsn:
        pytest.skip("TAP_TAILSCALE_PG_DSN is not set (a PostgreSQL DSN)")
    python = dbt_project.root / ".meltano/loaders/target-postgres/venv/bin/python"
    database = Postgres(dsn=dsn, python=python)
    source, models = f"{schema_prefix()}dbt_src", f"{schema_prefix()}dbt_out"
    yield database, source, models
    for schema in (source, models):
        database.query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_postgres_build_finds_exactly_the_planted_cases(
    dbt_project: MeltanoProject, dbt_postgres: tuple[Postgres, str, str]
) -> None:
    database, source, models = dbt_postgres
    settings = database.settings_env
    env = settings | {
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": source,
        # Meltano reads a setting from <PLUGIN>_<SETTING>, and hands it to dbt as the
        # setting's `env` (TAP_TAILSCALE_DBT_SOURCE_SCHEMA, TAP_TAILSCALE_DBT_SCHEMA).
        "DBT_POSTGRES_SOURCE_SCHEMA": source,
        "DBT_POSTGRES_SCHEMA": models,
        "DBT_POSTGRES_HOST": settings["TARGET_POSTGRES_HOST"],
        "DBT_POSTGRES_PORT": settings["TARGET_POSTGRES_PORT"],
        "DBT_POSTGRES_USER": settings["TARGET_POSTGRES_USER"],
        "DBT_POSTGRES_PASSWORD": settings["TARGET_POSTGRES_PASSWORD"],
        "DBT_POSTGRES_DBNAME": settings["TARGET_POSTGRES_DATABASE"],
    }
    _load_twice(dbt_project, "target-postgres", env)
    findings, tap_findings, lifecycle = database.run(
        *((None, q.format(schema=f'"{models}"')) for q in (_FINDINGS, _TAP_FINDINGS, _LIFECYCLE))
    )
    assert findings is not None
    assert tap_findings is not None
    assert lifecycle is not None
    _check(findings, tap_findings[0][0], [tuple(row) for row in lifecycle])
