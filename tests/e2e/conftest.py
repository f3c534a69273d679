"""Fixtures for the Meltano + PostgreSQL end-to-end tests.

They need two things from outside Python:

- a PostgreSQL server, named by `TAP_TAILSCALE_PG_DSN`
  (`postgresql://user:password@127.0.0.1:5432/database`); without it every test here is
  skipped. `.ci/run` starts Debian's PostgreSQL and sets it; so does the CI workflow.
- `meltano` (installed next to this Python by `make test`, `make demo` and `.ci/run`).

The repository's meltano.yml is copied to a temporary project whose tap-tailscale plugin
installs this checkout (`pip_url: -e <repo>`); `meltano install` runs once per session.
Each test run talks to an emulator started in this process on a free port.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
DSN_ENV = "TAP_TAILSCALE_PG_DSN"
# Variables from the caller's shell that would change what Meltano or the plugins do.
_FOREIGN_PREFIXES = (
    "TAP_TAILSCALE",
    "TARGET_POSTGRES",
    "TARGET_JSONL",
    "TARGET_DUCKDB",
    "DBT_",
    "MELTANO_",
)

# SQL runs in the target-postgres plugin's own Python, which has psycopg, so the test
# environment needs no database driver. One process per call: argv is the DSN and a JSON
# list of statements; a statement naming a missing table (to_regclass is null) gives None.
_SQL_SCRIPT = """
import json, sys
import psycopg
dsn, statements = sys.argv[1], json.loads(sys.argv[2])
results = []
with psycopg.connect(dsn, autocommit=True) as conn:
    for table, statement in statements:
        if table and conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0] is None:
            results.append(None)
            continue
        cur = conn.execute(statement)
        results.append(cur.fetchall() if cur.description else [])
print(json.dumps(results, default=str))
"""


def find_meltano() -> str | None:
    """`meltano` beside this interpreter (the project venv), else on PATH."""
    beside = Path(sys.executable).parent / "meltano"
    if beside.exists():
        return str(beside)
    return shutil.which("meltano")


@dataclass
class Postgres:
    """The test database, and SQL through the loader's psycopg."""

    dsn: str
    python: Path | None = None

    @property
    def settings_env(self) -> dict[str, str]:
        """target-postgres settings for this DSN, as Meltano environment variables."""
        parts = urlsplit(self.dsn)
        if parts.scheme not in {"postgresql", "postgres"} or not parts.path.strip("/"):
            raise pytest.UsageError(
                f"{DSN_ENV} must look like postgresql://user:password@127.0.0.1:5432/database"
            )
        return {
            "TARGET_POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "TARGET_POSTGRES_PORT": str(parts.port or 5432),
            "TARGET_POSTGRES_USER": unquote(parts.username or ""),
            "TARGET_POSTGRES_PASSWORD": unquote(parts.password or ""),
            "TARGET_POSTGRES_DATABASE": unquote(parts.path.strip("/")),
        }

    def run(self, *statements: tuple[str | None, str]) -> list[list[list[Any]] | None]:
        """Run `(table, sql)` statements in one connection; None where `table` is missing."""
        if self.python is None:
            raise RuntimeError("target-postgres is not installed yet")
        result = subprocess.run(
            [str(self.python), "-c", _SQL_SCRIPT, self.dsn, json.dumps(statements)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"SQL failed: {statements}\n{result.stderr}")
        return json.loads(result.stdout)

    def query(self, sql: str) -> list[list[Any]]:
        """Rows of one statement."""
        (rows,) = self.run((None, sql))
        assert rows is not None
        return rows

    def key_lists(self, schema: str, tables: dict[str, str]) -> dict[str, list[str]]:
        """Every key value of each `{table: key column}`, duplicates kept; [] if no table."""
        results = self.run(
            *(
                (f'"{schema}"."{table}"', f'SELECT "{key}" FROM "{schema}"."{table}"')
                for table, key in tables.items()
            )
        )
        return {
            table: [row[0] for row in rows or []]
            for table, rows in zip(tables, results, strict=True)
        }

    def column_types(self, schema: str, table: str) -> dict[str, str]:
        """{column: data_type} of a table."""
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
        )
        return {name: kind for name, kind in rows}


@dataclass
class MeltanoProject:
    """A throw-away copy of the repository's Meltano project."""

    root: Path
    executable: str
    base_env: dict[str, str] = field(default_factory=dict)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
        environment.update(
            {
                "MELTANO_PROJECT_ROOT": str(self.root),
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "NO_COLOR": "1",
            }
        )
        environment.update(self.base_env)
        environment.update(extra or {})
        return environment

    def meltano(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float = 240,
    ) -> subprocess.CompletedProcess[str]:
        """Run `meltano ARGS` in the project; on an unexpected exit show its output."""
        result = subprocess.run(
            [self.executable, *args],
            cwd=self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"`meltano {' '.join(args)}` exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-12000:]}"
            )
        return result

    def state(self, state_id: str) -> dict[str, Any]:
        """`meltano state get STATE_ID`, parsed."""
        result = self.meltano("state", "get", state_id)
        return json.loads(result.stdout)

    def state_ids(self) -> list[str]:
        return self.meltano("state", "list").stdout.split()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        pytest.skip(f"{DSN_ENV} is not set (a PostgreSQL DSN); .ci/run and CI set it")
    return dsn


@pytest.fixture(scope="session")
def meltano_project(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """The Meltano project, with its plugins installed once for the session."""
    executable = find_meltano()
    if executable is None:
        # The DSN says the caller wants these tests; a silent skip would hide that.
        pytest.fail("meltano is not installed; `pip install 'meltano>=4.4,<5'` or `make test`")
    root = tmp_path_factory.mktemp("meltano-project")
    text = (REPO / "meltano.yml").read_text()
    text, replaced = re.subn(r"(?m)^(\s*pip_url:) -e \.$", rf"\1 -e {REPO}", text)
    assert replaced == 1, "meltano.yml should install the tap with `pip_url: -e .`"
    (root / "meltano.yml").write_text(text)
    (root / "output").mkdir()
    project = MeltanoProject(root=root, executable=executable)
    project.meltano("install", timeout=900)
    return project


@pytest.fixture(scope="session")
def postgres(pg_dsn: str, meltano_project: MeltanoProject) -> Iterator[Postgres]:
    """The database; the schemas the tests created are dropped at the end."""
    python = meltano_project.root / ".meltano/loaders/target-postgres/venv/bin/python"
    assert python.exists(), f"target-postgres is not installed at {python}"
    database = Postgres(dsn=pg_dsn, python=python)
    meltano_project.base_env.update(database.settings_env)
    database.query("SELECT 1")
    yield database
    for (schema,) in database.query(
        "SELECT schema_name FROM information_schema.schemata "
        f"WHERE schema_name LIKE '{schema_prefix()}%'"
    ):
        database.query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_prefix() -> str:
    """Schemas of this test session (several sessions may share a database)."""
    return f"tailscale_e2e_{os.getpid()}_"
