"""End-to-end figures: the tap alone, then piped into target-postgres and target-duckdb.

One emulator (its own process) serves a network_flow window of `--records` entries (100
nodes every 5 s, 5 traffic items each). Each pipeline runs as `tap | target`, timed from
start until both exit; the table gives rows/s for the tap alone (stdout to /dev/null)
and end to end, and every load is checked: the table holds exactly `--records` rows.

Targets come from the Meltano project's plugin venvs (`.meltano/loaders/...`, made by
`meltano install`), else they are installed into throw-away venvs under the system temp
directory with the pip_url of meltano.yml. PostgreSQL needs a server: pass a DSN with
`--pg-dsn` or TAP_TAILSCALE_PG_DSN (.ci/run starts one); without one those rows are skipped.
Each PostgreSQL run loads into a fresh schema, dropped afterwards.

Usage: python scripts/bench_e2e.py [--records 20000] [--runs 1] [--pg-dsn DSN]
       python scripts/bench.py --e2e ...   (the same)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import dataset_end, start_emulator, stop, tap_config, write_catalog

ROOT = Path(__file__).resolve().parent.parent
NODES_PER_SECOND = 20  # 100 nodes reporting every 5 s
# (label, target, extra target settings): the variants measured, fastest safe last.
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("target-postgres, defaults (validate_records true)", "target-postgres", {}),
    ("target-postgres, validate_records false", "target-postgres", {"validate_records": False}),
    (
        "target-postgres, validate_records false, batch_size_rows 100000",
        "target-postgres",
        {"validate_records": False, "batch_size_rows": 100000},
    ),
    (
        "target-postgres, validate_records false, use_copy true",
        "target-postgres",
        {"validate_records": False, "use_copy": True},
    ),
    ("target-duckdb, defaults", "target-duckdb", {}),
]
# Runs in the target's venv: argv is the kind (postgres or duckdb), the place and a query.
_COUNT_SCRIPT = """
import sys
kind, place, query = sys.argv[1:4]
if kind == "postgres":
    import psycopg
    with psycopg.connect(place, autocommit=True) as conn:
        print(conn.execute(query).fetchone()[0])
else:
    import duckdb
    db = duckdb.connect(place, read_only=True)
    print(db.sql(query).fetchone()[0])
"""


def target_executable(name: str, scratch: Path) -> Path:
    """The target from Meltano's plugin venv, else a throw-away venv made here."""
    installed = ROOT / ".meltano" / "loaders" / name / "venv" / "bin" / name
    if installed.exists():
        return installed
    loaders = yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
    pip_url = next(loader["pip_url"] for loader in loaders if loader["name"] == name)
    venv = scratch / name
    if (venv / "bin" / name).exists():
        return venv / "bin" / name
    print(f"  installing {name} ({pip_url}) into {venv}", file=sys.stderr, flush=True)
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if Path(uv).exists():
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python")]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*install, *pip_url.split()], check=True)
    return venv / "bin" / name


def postgres_settings(dsn: str, schema: str) -> dict[str, Any]:
    parts = urlsplit(dsn)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.strip("/")),
        "default_target_schema": schema,
        "load_method": "upsert",
        "add_record_metadata": True,
    }


@dataclass(frozen=True)
class Timing:
    """One pipeline run: wall seconds, and each process's own CPU seconds."""

    wall: float
    tap_cpu: float
    target_cpu: float = 0.0


def _reap(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """Wait for one child; its exit code and own CPU seconds (wait4 keeps them apart)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def timed_pipeline(tap: list[str], target: list[str] | None, stderr: Path) -> Timing:
    """`tap | target` (or the tap alone into /dev/null), timed until both exit."""
    with open(os.devnull, "wb") as sink, stderr.open("wb") as err:
        started = time.perf_counter()
        producer = subprocess.Popen(tap, stdout=subprocess.PIPE if target else sink, stderr=err)
        consumer = None
        if target is not None:
            consumer = subprocess.Popen(target, stdin=producer.stdout, stdout=sink, stderr=err)
            assert producer.stdout is not None
            producer.stdout.close()  # the target alone holds the pipe
        tap_code, tap_cpu = _reap(producer)
        target_code, target_cpu = _reap(consumer) if consumer else (0, 0.0)
        wall = time.perf_counter() - started
    if tap_code or target_code:
        tail = stderr.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"pipeline exited {tap_code}, {target_code}:\n{tail}")
    return Timing(wall, tap_cpu, target_cpu)


def loaded_rows(executable: Path, kind: str, place: str, table: str) -> int:
    python = executable.parent / "python"
    query = f"SELECT count(DISTINCT flow_id) FROM {table}"
    result = subprocess.run(
        [str(python), "-c", _COUNT_SCRIPT, kind, place, query],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"counting rows failed: {result.stderr[-2000:]}")
    return int(result.stdout)


def drop_schema(executable: Path, dsn: str, schema: str) -> None:
    subprocess.run(
        [
            str(executable.parent / "python"),
            "-c",
            _COUNT_SCRIPT,
            "postgres",
            dsn,
            f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; SELECT 1',
        ],
        capture_output=True,
        check=False,
    )


def run_variant(
    workdir: Path,
    tap: list[str],
    records: int,
    variant: tuple[str, str, dict[str, Any]],
    dsn: str | None,
    run: int,
) -> Timing | None:
    label, name, extra = variant
    executable = target_executable(name, workdir)
    if name == "target-postgres":
        if dsn is None:
            return None
        schema = f"bench_e2e_{os.getpid()}_{run}_{abs(hash(label)) % 10_000}"
        config, kind, place = {**postgres_settings(dsn, schema), **extra}, "postgres", dsn
        table = f'"{schema}".network_flow'
    else:
        place = str(workdir / f"bench{run}_{abs(hash(label)) % 10_000}.duckdb")
        config = {"path": place, "default_target_schema": "tailscale", **extra}
        kind, table = "duckdb", "tailscale.network_flow"
    config_path = workdir / "target.json"
    config_path.write_text(json.dumps(config))
    try:
        timing = timed_pipeline(
            tap, [str(executable), "--config", str(config_path)], workdir / "pipeline.stderr"
        )
        count = loaded_rows(executable, kind, place, table)
    finally:
        if kind == "postgres":
            drop_schema(executable, dsn or "", schema)
    if count != records:
        raise RuntimeError(f"{label}: {count} rows loaded, {records} expected")
    print(
        f"  {label} run {run + 1}: {timing.wall:.1f} s, target CPU {timing.target_cpu:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return timing


def median_timing(timings: list[Timing]) -> Timing:
    return Timing(
        wall=statistics.median(t.wall for t in timings),
        tap_cpu=statistics.median(t.tap_cpu for t in timings),
        target_cpu=statistics.median(t.target_cpu for t in timings),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="network_flow rows")
    parser.add_argument("--runs", type=int, default=1, help="runs per row (median)")
    parser.add_argument("--pg-dsn", default=os.environ.get("TAP_TAILSCALE_PG_DSN"))
    parser.add_argument("--only", help="run only the variants whose label contains this")
    options = parser.parse_args(argv)
    seconds = options.records // NODES_PER_SECOND
    end = dataset_end()
    start = end - timedelta(seconds=seconds)
    emulator, url = start_emulator(
        [
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--nodes",
            "100",
            "--network-interval",
            "5",
            "--traffic-items",
            "5",
        ]
    )
    rows: list[tuple[str, Timing | None]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tap-tailscale-bench-e2e-") as tmp:
            workdir = Path(tmp)
            config_path = workdir / "tap.json"
            config_path.write_text(json.dumps(tap_config(url, start, end, seconds)))
            catalog = write_catalog(workdir, config_path, "network_flow")
            tap = [
                sys.executable,
                "-m",
                "tap_tailscale",
                "--config",
                str(config_path),
                "--catalog",
                str(catalog),
            ]
            alone = [timed_pipeline(tap, None, workdir / "tap.stderr") for _ in range(options.runs)]
            rows.append(("tap alone (stdout to /dev/null)", median_timing(alone)))
            for variant in VARIANTS:
                if options.only and options.only not in variant[0]:
                    continue
                timings = [
                    run_variant(workdir, tap, options.records, variant, options.pg_dsn, run)
                    for run in range(options.runs)
                ]
                done = [timing for timing in timings if timing is not None]
                rows.append((variant[0], median_timing(done) if done else None))
    finally:
        stop(emulator)
    report(rows, options)
    return 0


def report(rows: list[tuple[str, Timing | None]], options: argparse.Namespace) -> None:
    print(
        f"\nnetwork_flow, {options.records:,} records (100 nodes, 5 traffic items each), "
        f"median of {options.runs} run(s); every load checked for exactly that many rows.\n"
    )
    print("| pipeline | wall s | rows/s | tap CPU s | target CPU s | rows per target CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, timing in rows:
        if timing is None:
            print(f"| {label} | skipped (no PostgreSQL DSN) | | | | |")
            continue
        per_cpu = f"{options.records / timing.target_cpu:,.0f}" if timing.target_cpu else "-"
        print(
            f"| {label} | {timing.wall:.1f} | {options.records / timing.wall:,.0f} | "
            f"{timing.tap_cpu:.1f} | {timing.target_cpu:.1f} | {per_cpu} |"
        )


if __name__ == "__main__":
    sys.exit(main())
