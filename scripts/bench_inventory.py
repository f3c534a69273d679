"""A big tailnet's inventory: peak RSS, wall time and requests for N devices.

Two runs against a local emulator listing `--devices` devices (default 50,000):
`devices` alone, then `devices` with the per-device streams (`device_posture`,
`device_invites`: one request per device each) at `--concurrency` (default: the
setting's default). Each reports the tap process's own peak RSS, its wall
time, the records written and the requests the emulator answered.

The emulator runs in this process, on loopback: the live API adds its own latency to
every request. Estimate a live run as requests x latency / concurrency (the
per-device requests dominate); `--latency` prints that estimate.

Goal (exit code 1 if missed): peak RSS under 150 MiB in both runs.

Usage: python scripts/bench_inventory.py [--devices 50000] [--concurrency 4]
       [--latency 0.1] [--skip-per-device]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import API_KEY, byte_compile_the_tap, run_measured, write_catalog

from tailscale_emulator import Emulator, EmulatorConfig, TailnetConfig
from tap_tailscale.settings.schema import SETTINGS

RSS_GOAL_MIB = 150.0
# Runs a command and writes its peak RSS (KiB): the largest of the launcher's children.
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""
PER_DEVICE = ("device_posture", "device_invites")


def _records(stderr_text: str) -> str:
    summary = next((line for line in stderr_text.splitlines() if "Run summary:" in line), "")
    return summary.split("Run summary:", 1)[-1].strip()


def measure(
    emulator: Emulator, workdir: Path, streams: tuple[str, ...], concurrency: int
) -> dict[str, Any]:
    """One run of the tap as its own process; its figures."""
    config = {
        "api_key": API_KEY,
        "api_url": emulator.url,
        "per_device_concurrency": concurrency,
        "request_timeout_seconds": 300,
        "request_deadline_seconds": 600,
    }
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    catalog = write_catalog(workdir, config_path, *streams)
    emulator.requests.clear()
    err = workdir / "tap.stderr"
    command = [sys.executable, "-m", "tap_tailscale", "--config", str(config_path)]
    command += ["--catalog", str(catalog)]
    # A child's peak RSS counts its parent's at the fork (Linux keeps the larger at exec),
    # and this process holds the emulator: a small launcher starts the tap instead.
    rss_file = workdir / "rss"
    launcher = [sys.executable, "-c", LAUNCHER, str(rss_file), *command]
    wall, cpu, _, code = run_measured(launcher, stderr_path=err)
    rss = int(rss_file.read_text()) / 1024  # KiB on Linux
    text = err.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"the tap failed (exit {code}):\n{text[-2000:]}")
    return {
        "streams": "+".join(streams),
        "wall": wall,
        "cpu": cpu,
        "rss": rss,
        "requests": len(emulator.requests),
        "summary": _records(text),
    }


def main() -> int:
    default = SETTINGS["properties"]["per_device_concurrency"]["default"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=default)
    parser.add_argument("--latency", type=float, default=0.1, help="live seconds per request")
    parser.add_argument("--skip-per-device", action="store_true")
    options = parser.parse_args()
    byte_compile_the_tap()
    config = EmulatorConfig(
        tailnets={"example.com": TailnetConfig(inventory_devices=options.devices)}
    )
    runs: list[tuple[str, ...]] = [("devices",)]
    if not options.skip_per_device:
        runs.append(("devices", *PER_DEVICE))
    ok = True
    print(f"{options.devices:,} devices, per_device_concurrency={options.concurrency}")
    print("| streams | requests | wall (s) | CPU (s) | peak RSS (MiB) | live estimate (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    with Emulator(config) as emulator, tempfile.TemporaryDirectory() as tmp:
        for streams in runs:
            figures = measure(emulator, Path(tmp), streams, options.concurrency)
            live = figures["requests"] * options.latency / options.concurrency
            print(
                f"| {figures['streams']} | {figures['requests']:,} | {figures['wall']:.1f} | "
                f"{figures['cpu']:.1f} | {figures['rss']:.0f} | {live:,.0f} |",
                flush=True,
            )
            print(f"  summary: {figures['summary'][:300]}", file=sys.stderr)
            ok &= figures["rss"] < RSS_GOAL_MIB
    print(f"\nlive estimate: requests x {options.latency} s / {options.concurrency} at once")
    print("goal met" if ok else f"GOAL MISSED: peak RSS >= {RSS_GOAL_MIB} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
