"""`make demo-duckdb`: load the emulator's logs into a local DuckDB file and query it.

No Tailscale account and no database server are needed. The script

1. runs `meltano install` (the tap from this checkout and the loaders, target-duckdb too);
2. starts the emulator on 127.0.0.1:8765 with a dataset ending now;
3. runs `meltano --environment=demo run --state-id-suffix=duckdb tap-tailscale target-duckdb
   dbt-duckdb:build`, which writes output/warehouse.duckdb (schema `tailscale`) and builds
   the dbt project in transform/ on it (schema `tailscale_dbt`);
4. stops the emulator and prints a few answers from SQL run on that file with the
   target's own DuckDB: events per action, top talkers by bytes, what `old`/`new`
   hold (JSON text; see "How old/new land in your warehouse" in the README), and the
   `detections` table (the dbt TS-H rules and the tap's per-event findings), per rule.

A second run resumes from Meltano's state; `--fresh` reloads the whole range. `--planted`
serves the emulator's planted scenario instead (14 days in which each TS-H rule has its
cases) into output/planted.duckdb.

Usage: python scripts/demo_duckdb.py [--port 8765] [--days 1] [--skip-install] [--fresh]
       [--planted]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tailscale_emulator import DEFAULT_API_KEY, Emulator, EmulatorConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo import DEFAULT_PORT, ROOT, meltano, meltano_executable, say

DATABASE = ROOT / "output" / "warehouse.duckdb"
PLANTED_DATABASE = ROOT / "output" / "planted.duckdb"
PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
QUERIES = {
    "Configuration events per action": """
        SELECT action, count(*) AS events
        FROM tailscale.configuration_audit GROUP BY action ORDER BY events DESC, action""",
    "Top talkers by bytes (virtual traffic sent + received, per reporting node)": """
        SELECT nodeid AS node, sum(coalesce((c->>'txBytes')::HUGEINT, 0)
                                 + coalesce((c->>'rxBytes')::HUGEINT, 0)) AS bytes
        FROM (SELECT nodeid, unnest(virtualtraffic->'$[*]') AS c FROM tailscale.network_flow)
        GROUP BY node ORDER BY bytes DESC LIMIT 5""",
    "What `new` holds: JSON text, typed on read": """
        SELECT json_type(new::JSON) AS kind, count(*) AS events, min(new) AS example
        FROM tailscale.configuration_audit WHERE new IS NOT NULL
        GROUP BY kind ORDER BY events DESC""",
    "Detections (dbt: the TS-H rules over history; tap: per-event rules), per rule": """
        SELECT source, rule_id, severity, count(*) AS findings, min(subject) AS example, title
        FROM tailscale_dbt.detections GROUP BY ALL ORDER BY source, rule_id""",
}
# Runs in the target's venv (it has duckdb): argv is the file and a JSON list of queries.
_QUERY_SCRIPT = """
import json, sys
import duckdb
db = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps([[db.sql(q).columns, db.sql(q).fetchall()] for q in json.loads(sys.argv[2])],
                 default=str))
"""


def load(args: argparse.Namespace) -> int:
    """Serve `args.days` of logs and run the Meltano pipeline into DuckDB."""
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=14 if args.planted else args.days)
    config = EmulatorConfig(dataset_start=start, dataset_end=end, planted=args.planted)
    emulator = Emulator(config, port=args.port)
    try:
        emulator.start()
    except OSError as exc:
        sys.exit(f"demo-duckdb: cannot listen on 127.0.0.1:{args.port} ({exc}); try --port N")
    env = dict(os.environ)
    env.update(
        {
            "TAP_TAILSCALE_API_URL": emulator.url,
            "TAP_TAILSCALE_API_KEY": DEFAULT_API_KEY,
            "TAP_TAILSCALE_START_DATE": start.isoformat().replace("+00:00", "Z"),
        }
    )
    if args.planted:
        path = str(PLANTED_DATABASE.relative_to(ROOT))
        env.update({"TARGET_DUCKDB_PATH": path, "DBT_DUCKDB_PATH": str(PLANTED_DATABASE)})
    suffix = "planted" if args.planted else "duckdb"
    command = ["--environment=demo", "run", f"--state-id-suffix={suffix}"]
    command += ["--full-refresh"] if args.fresh else []
    command += ["tap-tailscale", "target-duckdb", "dbt-duckdb:build"]
    say(f"Emulator on {emulator.url}; running: meltano {' '.join(command)}")
    try:
        run = subprocess.run([meltano_executable(), *command], cwd=ROOT, env=env, check=False)
    finally:
        emulator.stop()
    return run.returncode


def show(results: list[list[list[Any]]]) -> None:
    for title, (columns, rows) in zip(QUERIES, results, strict=True):
        say(title)
        widths = [
            max(len(str(v)) for v in (name, *(r[i] for r in rows)))
            for i, name in enumerate(columns)
        ]
        for line in (columns, *rows):
            print(
                "    "
                + "  ".join(
                    str(v)[:60].ljust(min(w, 60)) for v, w in zip(line, widths, strict=True)
                )
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="emulator port")
    parser.add_argument("--days", type=float, default=1.0, help="emulated history (days)")
    parser.add_argument("--skip-install", action="store_true", help="skip `meltano install`")
    parser.add_argument("--fresh", action="store_true", help="reload the whole range")
    parser.add_argument(
        "--planted", action="store_true", help="the planted TS-H scenario (output/planted.duckdb)"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    DATABASE.parent.mkdir(exist_ok=True)
    if not args.skip_install:
        say("Installing the Meltano plugins (meltano install)")
        meltano("install")
    code = load(args)
    if code != 0:
        print(f"demo-duckdb: the Meltano run failed (exit {code}); see its log above.")
        return code
    database = PLANTED_DATABASE if args.planted else DATABASE
    answers = subprocess.run(
        [str(PYTHON), "-c", _QUERY_SCRIPT, str(database), json.dumps(list(QUERIES.values()))],
        capture_output=True,
        text=True,
        check=True,
    )
    show(json.loads(answers.stdout))
    print(f"\nThe warehouse is {database.relative_to(ROOT)}; query it with any DuckDB >= 1.2.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
