"""`make demo`: run tap-tailscale under Meltano against the local Tailscale API emulator.

No Tailscale account is needed. The script

1. runs `meltano install` (the tap from this checkout, target-jsonl, target-postgres);
2. shows the bookmarks Meltano holds for `demo:tap-tailscale-to-target-jsonl`, if any;
3. starts the emulator on 127.0.0.1:8765 with a dataset ending now;
4. runs `meltano --environment=demo run tap-tailscale target-jsonl` (its log is shown live);
5. stops the emulator, whatever happened;
6. says where the JSONL landed, how many records each stream wrote in this run, and the
   bookmarks now stored.

Run it twice: the second run resumes from Meltano's state, so it reads only the minutes
since the first run plus the `overlap_seconds` re-read, not the whole day again.

Usage: python scripts/demo.py [--port 8765] [--days 1] [--skip-install] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_ID = "demo:tap-tailscale-to-target-jsonl"
DEFAULT_PORT = 8765  # the port meltano.yml's demo environment points api_url at
STREAMS = (
    "configuration_audit",
    "admin_audit",
    "network_flow",
    "network_connection",
    "devices",
    "users",
    "keys",
    "policy",
    "dns",
)


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def meltano_executable() -> str:
    """The `meltano` next to this Python (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "meltano"
    if beside.exists():
        return str(beside)
    found = shutil.which("meltano")
    if found is None:
        sys.exit("demo: `meltano` is not installed; run `make demo` (it installs it into .venv).")
    return found


def meltano(*args: str, env: dict[str, str] | None = None, capture: bool = False) -> str:
    """Run a Meltano command in the project root; exit with its code if it fails."""
    command = [meltano_executable(), *args]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        check=False,
    )
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stderr or "")
        raise SystemExit(f"demo: `meltano {' '.join(args)}` failed (exit {result.returncode}).")
    return result.stdout if capture else ""


def stored_bookmarks() -> dict[str, list[tuple[str, str]]] | None:
    """The bookmarks in Meltano's state for the demo pipeline, or None before the first run."""
    listed = meltano("--environment=demo", "state", "list", capture=True).split()
    if STATE_ID not in listed:
        return None
    raw = meltano("--environment=demo", "state", "get", STATE_ID, capture=True)
    state = json.loads(raw)
    bookmarks: dict[str, list[tuple[str, str]]] = {}
    for stream, entry in state.get("singer_state", {}).get("bookmarks", {}).items():
        partitions = entry.get("partitions") or [entry]
        bookmarks[stream] = [
            (
                str((p.get("context") or {}).get("tailnet", "-")),
                str(p.get("replication_key_value", "")),
            )
            for p in partitions
        ]
    return bookmarks


def print_bookmarks(bookmarks: dict[str, list[tuple[str, str]]]) -> None:
    for stream in sorted(bookmarks):
        for tailnet, value in bookmarks[stream]:
            print(f"    {stream:<20} tailnet {tailnet!r:<6} bookmark {value}")


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="emulator port")
    parser.add_argument("--days", type=float, default=1.0, help="emulated history (days)")
    parser.add_argument("--skip-install", action="store_true", help="skip `meltano install`")
    parser.add_argument(
        "--fresh", action="store_true", help="clear the demo state and output first"
    )
    args = parser.parse_args()

    # Imported here so `--help` works before the package is installed.
    from tailscale_emulator import (  # noqa: PLC0415
        DEFAULT_API_KEY,
        Emulator,
        EmulatorConfig,
    )

    os.chdir(ROOT)
    output = ROOT / "output"
    output.mkdir(exist_ok=True)  # target-jsonl does not create its directory

    if not args.skip_install:
        say("Installing the Meltano plugins (meltano install)")
        meltano("install")

    if args.fresh:
        say(f"Clearing state {STATE_ID} and output/*.jsonl")
        meltano("--environment=demo", "state", "clear", "--force", STATE_ID)
        for stream in STREAMS:
            (output / f"{stream}.jsonl").unlink(missing_ok=True)

    before = stored_bookmarks()
    if before is None:
        say(f"No state yet for {STATE_ID}: this first run reads the whole emulated history")
    else:
        say(f"Resuming from Meltano's state {STATE_ID}:")
        print_bookmarks(before)
        print(
            "    (each stream re-reads `overlap_seconds` before its bookmark, then only new logs)"
        )

    counts_before = {s: count_lines(output / f"{s}.jsonl") for s in STREAMS}

    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    config = EmulatorConfig(dataset_start=start, dataset_end=end)
    emulator = Emulator(config, port=args.port)
    try:
        emulator.start()
    except OSError as exc:
        sys.exit(
            f"demo: cannot listen on 127.0.0.1:{args.port} ({exc}). Is another demo running? "
            "Use `python scripts/demo.py --port N` for another port."
        )
    env = dict(os.environ)
    env.update(
        {
            "TAP_TAILSCALE_API_URL": emulator.url,
            "TAP_TAILSCALE_API_KEY": DEFAULT_API_KEY,
            # Used by the first run only; later runs start from the stored bookmarks.
            "TAP_TAILSCALE_START_DATE": start.isoformat().replace("+00:00", "Z"),
        }
    )
    command = ["--environment=demo", "run", "tap-tailscale", "target-jsonl"]
    span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    say(f"Emulator on {emulator.url} (logs from {span}); running: meltano {' '.join(command)}")
    started = time.monotonic()
    try:
        run = subprocess.run([meltano_executable(), *command], cwd=ROOT, env=env, check=False)
    finally:
        requests = len(emulator.logging_requests)
        emulator.stop()
        print(f"\n==> Emulator stopped (it answered {requests} log requests).", flush=True)
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        print(f"demo: the Meltano run failed (exit {run.returncode}); see its log above.")
        return run.returncode

    say(f"Run finished in {elapsed:.1f} s. JSONL files in {output}/:")
    for stream in STREAMS:
        path = output / f"{stream}.jsonl"
        total = count_lines(path)
        added = total - counts_before[stream]
        print(f"    {path.relative_to(ROOT)!s:<32} {added:>6} records this run, {total:>6} in all")

    show_headlines(output)
    after = stored_bookmarks()
    if after:
        say(f"Bookmarks now in Meltano's state ({STATE_ID}):")
        print_bookmarks(after)
    if before is None:
        print("\nRun `make demo` again: the next run resumes from these bookmarks.")
    else:
        print("\nThis run resumed from the stored state; the re-read overlap is why the files")
        print("can hold a record twice (target-jsonl appends; target-postgres upserts by key).")
    return 0


def show_headlines(output: Path) -> None:
    """One ACL change with its findings and diff, and one enriched connection row."""
    admin = [json.loads(line) for line in _lines(output / "admin_audit.jsonl")]
    acl = next((r for r in reversed(admin) if r.get("policy_diff") and r.get("findings")), None)
    if acl:
        say("An ACL change, with the findings it raised and its policy diff:")
        print(f"    {acl['event_time']}  {acl['severity']}  {acl['summary']}")
        for finding in acl["findings"]:
            print(f"      {finding['rule_id']} ({finding['severity']}): {finding['title']}")
        for line in acl["policy_diff"].splitlines()[:12]:
            print(f"      {line}")
    rows = [json.loads(line) for line in _lines(output / "network_connection.jsonl")]
    named = next((r for r in rows if r.get("node_name") and r.get("peer_name")), None)
    if named:
        say("A connection row, named from the devices snapshot:")
        print(
            f"    {named['node_name']} -> {named['peer_name']} {named['proto_name']}/"
            f"{named['dst_port']}  {named['txBytes']} bytes sent"
        )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


if __name__ == "__main__":
    sys.exit(main())
