"""Benchmark tap-tailscale against the raw floor, side by side, on emulator data.

The raw floor is the least work that produces the same Singer output: a `requests` GET,
`orjson.loads` of the body, and one orjson-encoded RECORD line per entry. The tap and the
floor each run as their own process, writing to /dev/null, against one emulator that runs
as a third process (in-process it would share the tap's GIL). Runs alternate tap, floor,
tap, floor... so both see the same machine load, and the table shows medians.

Workloads (one window each):
  configuration  about 200k configuration audit events
  network        50k network flow entries with 5 traffic items each
  network-500k   500k network flow entries (about 450 MB of body): the memory check
  connections    the 50k entries as network_connection rows (250k rows), rows/s and memory

Goals checked (the exit code is 1 if one is missed):
  - the tap's wall time is at most the floor's (1.0x) on `configuration` and `network`, as
    the median of each tap run's ratio to the floor run beside it: a slow spell of a shared
    machine then slows both sides of a ratio, where the ratio of two medians can pair a
    slow tap run with a fast floor run;
  - the tap's peak RSS stays under 100 MiB on every workload.

The tap is byte-compiled first, as a wheel install leaves it (see byte_compile_the_tap).

`--smoke` shrinks every workload (under 30 s in all), runs each once, and checks memory
but allows a ratio of 3x, since one tiny run is mostly start-up and noise.

`--curve` instead runs a network backfill of a simulated 100-node tailnet that reports
every 60 s (5 traffic items), at three lengths up to 29.5 days, through the tap's normal
one-hour windows, and checks that memory stays flat and time grows linearly.

Usage: python scripts/bench.py [--runs 5] [--smoke] [--only NAME ...] [--no-floor]
       python scripts/bench.py --curve [--curve-runs 1]
       python scripts/bench.py --e2e [--records N] [--runs N]   (scripts/bench_e2e.py)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

API_KEY = "emulator-demo-key"
RSS_LIMIT_MIB = 100.0
RATIO_LIMIT = 1.0
SMOKE_RATIO_LIMIT = 3.0
# The tap's own summary line, e.g. "Run summary: network_flow: 50000 new records and 0 re-read ...".
SUMMARY_MARK = "Run summary: "


@dataclass(frozen=True)
class Workload:
    """One window of one stream, read by both the tap and the floor."""

    name: str
    stream: str
    kind: str  # the API's log kind: configuration or network
    seconds: int  # window length from the dataset start
    ratio_goal: bool  # whether the throughput goal applies


@dataclass
class Run:
    """One process run: wall time, peak RSS, records and body bytes."""

    wall: float
    rss_mib: float
    records: int
    body_bytes: int = 0
    cpu: float = 0.0  # user + system seconds: less sensitive to other load than wall
    #: The median over runs of this run's wall time over its paired floor run's.
    paired_ratio: float = float("nan")


# ---------------------------------------------------------------------------- processes


def run_measured(command: list[str], *, stderr_path: Path) -> tuple[float, float, float, int]:
    """Run `command` with stdout to /dev/null; return (wall s, CPU s, peak RSS MiB, exit code).

    os.wait4 gives this child's own rusage, so the emulator and earlier runs do not blur
    the peak the way RUSAGE_CHILDREN's running maximum would.
    """
    with open(os.devnull, "wb") as sink, stderr_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, process.returncode


def start_emulator(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start the emulator as its own process; return it and its base URL."""
    command = [sys.executable, "-m", "tailscale_emulator", "--port", "0", *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    prefix = "emulator listening on "
    if not line.startswith(prefix):
        process.terminate()
        sys.exit(f"bench: the emulator did not start ({line!r})")
    return process, line[len(prefix) :]


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---------------------------------------------------------------------------- the tap


def write_catalog(workdir: Path, config_path: Path, *streams: str) -> Path:
    """A catalog from the tap's own discovery, with only `streams` selected."""
    discovered = subprocess.run(
        [sys.executable, "-m", "tap_tailscale", "--config", str(config_path), "--discover"],
        capture_output=True,
        check=True,
    )
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    path = workdir / f"catalog-{'-'.join(streams)}.json"
    path.write_text(json.dumps(catalog))
    return path


def tap_config(url: str, start: datetime, end: datetime, window_seconds: int) -> dict[str, Any]:
    return {
        "api_key": API_KEY,
        "api_url": url,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "lag_seconds": 0,
        "overlap_seconds": 0,
        "configuration_window_seconds": window_seconds,
        "network_window_seconds": window_seconds,
        # One window whatever its size: splitting would hide the memory being measured.
        "max_response_bytes": 2**40,
        "request_timeout_seconds": 300,
    }


def summary_records(stderr_text: str, stream: str) -> int:
    for line in stderr_text.splitlines():
        if SUMMARY_MARK in line:
            for part in line.split(SUMMARY_MARK, 1)[1].split(";"):
                name, _, rest = part.strip().partition(": ")
                if name == stream:
                    return int(rest.split()[0])
    raise RuntimeError(f"no run summary for {stream} in the tap's log:\n{stderr_text[-2000:]}")


def run_tap(workdir: Path, config_path: Path, catalog_path: Path, stream: str) -> Run:
    err = workdir / "tap.stderr"
    command = [sys.executable, "-m", "tap_tailscale", "--config", str(config_path)]
    command += ["--catalog", str(catalog_path)]
    wall, cpu, rss, code = run_measured(command, stderr_path=err)
    text = err.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"the tap failed (exit {code}):\n{text[-2000:]}")
    return Run(wall=wall, rss_mib=rss, records=summary_records(text, stream), cpu=cpu)


# ---------------------------------------------------------------------------- the floor


def floor_main(url: str, kind: str, stream: str, start: str, end: str) -> None:
    """The raw floor: GET the window, parse it whole, write one RECORD line per entry."""
    import orjson  # noqa: PLC0415 - only the floor process needs it
    import requests  # noqa: PLC0415

    response = requests.get(
        f"{url}/api/v2/tailnet/-/logging/{kind}",
        params={"start": start, "end": end},
        auth=(API_KEY, ""),
        timeout=300,
    )
    response.raise_for_status()
    body = response.content
    write = sys.stdout.buffer.write
    count = 0
    for entry in orjson.loads(body)["logs"] or ():
        write(orjson.dumps({"type": "RECORD", "stream": stream, "record": entry}) + b"\n")
        count += 1
    sys.stdout.buffer.flush()
    print(f"floor: {count} records {len(body)} bytes", file=sys.stderr)


def run_floor(workdir: Path, url: str, workload: Workload, start: datetime, end: datetime) -> Run:
    err = workdir / "floor.stderr"
    command = [sys.executable, __file__, "--floor", url, workload.kind, workload.stream]
    command += [query_time(start), query_time(end)]
    wall, cpu, rss, code = run_measured(command, stderr_path=err)
    text = err.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"the floor failed (exit {code}):\n{text[-2000:]}")
    words = text.split()
    index = words.index("floor:")
    return Run(
        wall=wall,
        rss_mib=rss,
        records=int(words[index + 1]),
        body_bytes=int(words[index + 3]),
        cpu=cpu,
    )


def query_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------- throughput


def dataset_end() -> datetime:
    # Recent enough for the API's retention, whole minutes so windows align exactly.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(hours=1)


def workloads(smoke: bool) -> list[Workload]:
    # 100 nodes every 5 s are 20 entries a second: 2,500 s hold 50k, 25,000 s hold 500k.
    if smoke:
        # Big enough that start-up (about 0.4 s more for the SDK) does not decide the ratio.
        return [
            Workload("configuration", "configuration_audit", "configuration", 14400, True),
            Workload("network", "network_flow", "network", 1250, True),
            Workload("network-50k", "network_flow", "network", 2500, False),
        ]
    return [
        Workload("configuration", "configuration_audit", "configuration", 86400, True),
        Workload("network", "network_flow", "network", 2500, True),
        Workload("network-500k", "network_flow", "network", 25000, False),
        # One row per traffic item (5 per entry), enriched from the devices snapshot: the
        # floor writes entries, so only rows/s and memory are compared here.
        Workload("connections", "network_connection", "network", 2500, False),
    ]


def median_run(runs: list[Run]) -> Run:
    return Run(
        wall=statistics.median(r.wall for r in runs),
        rss_mib=statistics.median(r.rss_mib for r in runs),
        records=runs[0].records,
        body_bytes=runs[0].body_bytes,
        cpu=statistics.median(r.cpu for r in runs),
    )


def byte_compile_the_tap() -> None:
    """Write the tap's .pyc files, as installing it from a wheel does.

    An editable install under PYTHONDONTWRITEBYTECODE (set on CI machines) would compile
    every module from source at each start: a tenth of a second a run that no installed
    tap pays, while the floor's few imports come compiled from site-packages.
    """
    import tap_tailscale  # noqa: PLC0415 - only to find where it is installed

    package = Path(tap_tailscale.__file__).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def throughput(options: argparse.Namespace) -> int:
    byte_compile_the_tap()
    end = dataset_end()
    start = end - timedelta(days=1)
    # 0.49 s between operations (every 7th writes two events) is about 201k events a day.
    emulator, url = start_emulator(
        [
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--config-interval",
            "0.49",
            "--nodes",
            "100",
            "--network-interval",
            "5",
            "--traffic-items",
            "5",
        ]
    )
    runs = 1 if options.smoke else options.runs
    ratio_limit = SMOKE_RATIO_LIMIT if options.smoke else RATIO_LIMIT
    rows: list[tuple[Workload, Run, Run]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tap-tailscale-bench-") as tmp:
            workdir = Path(tmp)
            for workload in workloads(options.smoke):
                if options.only and workload.name not in options.only:
                    continue
                window_end = start + timedelta(seconds=workload.seconds)
                config_path = workdir / f"config-{workload.name}.json"
                config = tap_config(url, start, window_end, workload.seconds)
                config_path.write_text(json.dumps(config))
                catalog_path = write_catalog(workdir, config_path, workload.stream)
                taps: list[Run] = []
                floors: list[Run] = []
                for attempt in range(runs):
                    taps.append(run_tap(workdir, config_path, catalog_path, workload.stream))
                    if not options.no_floor:
                        floors.append(run_floor(workdir, url, workload, start, window_end))
                    print(
                        f"  {workload.name} run {attempt + 1}/{runs}: tap {taps[-1].wall:.2f} s "
                        f"(CPU {taps[-1].cpu:.2f} s) {taps[-1].rss_mib:.0f} MiB"
                        + (
                            f", floor {floors[-1].wall:.2f} s (CPU {floors[-1].cpu:.2f} s)"
                            if floors
                            else ""
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
                tap_median = median_run(taps)
                floor_median = median_run(floors) if floors else None
                if floor_median is not None:
                    # Connection rows are several per entry; the others must match one to one.
                    if workload.ratio_goal and tap_median.records != floor_median.records:
                        raise RuntimeError(
                            f"{workload.name}: the tap emitted {tap_median.records} records, "
                            f"the floor {floor_median.records}"
                        )
                    tap_median.body_bytes = floor_median.body_bytes
                    tap_median.paired_ratio = statistics.median(
                        tap.wall / floor.wall for tap, floor in zip(taps, floors, strict=True)
                    )
                    rows.append((workload, tap_median, floor_median))
                else:
                    rows.append((workload, tap_median, Run(0.0, 0.0, tap_median.records)))
    finally:
        stop(emulator)
    return report(rows, runs=runs, ratio_limit=ratio_limit, with_floor=not options.no_floor)


def report(
    rows: list[tuple[Workload, Run, Run]], *, runs: int, ratio_limit: float, with_floor: bool
) -> int:
    print(
        f"\nMedian of {runs} run(s) per cell; tap and floor alternate against one emulator. "
        "tap/floor is the median of each run's ratio to the floor run beside it.\n"
    )
    print(
        "| workload | records | body MB | tap s | floor s | tap/floor | tap records/s | "
        "tap MB/s | floor records/s | tap peak RSS | floor peak RSS | tap CPU s | floor CPU s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    failures: list[str] = []
    for workload, tap, floor in rows:
        megabytes = tap.body_bytes / 1e6
        ratio = tap.paired_ratio if with_floor and floor.wall else float("nan")
        print(
            f"| {workload.name} | {tap.records:,} | {megabytes:,.0f} | {tap.wall:.2f} | "
            f"{floor.wall:.2f} | {ratio:.2f}x | {tap.records / tap.wall:,.0f} | "
            f"{megabytes / tap.wall:.1f} | "
            f"{(floor.records / floor.wall) if floor.wall else 0:,.0f} | "
            f"{tap.rss_mib:.0f} MiB | {floor.rss_mib:.0f} MiB | {tap.cpu:.2f} | {floor.cpu:.2f} |"
        )
        if tap.rss_mib >= RSS_LIMIT_MIB:
            failures.append(
                f"{workload.name}: tap peak RSS {tap.rss_mib:.0f} MiB >= {RSS_LIMIT_MIB:.0f}"
            )
        if with_floor and workload.ratio_goal and ratio > ratio_limit:
            failures.append(f"{workload.name}: tap/floor {ratio:.2f}x > {ratio_limit}x")
    return verdict(failures)


def verdict(failures: list[str]) -> int:
    print()
    if failures:
        for failure in failures:
            print(f"GOAL MISSED: {failure}")
        return 1
    print("All goals met.")
    return 0


# ---------------------------------------------------------------------------- scale curve


def curve(options: argparse.Namespace) -> int:
    """A 100-node, 60 s network backfill at three lengths: flat memory, linear time."""
    byte_compile_the_tap()
    end = dataset_end()
    days = (7.375, 14.75, 29.5)
    emulator, url = start_emulator(
        [
            "--start",
            (end - timedelta(days=days[-1])).isoformat(),
            "--end",
            end.isoformat(),
            "--nodes",
            "100",
            "--network-interval",
            "60",
            "--traffic-items",
            "5",
        ]
    )
    points: list[tuple[float, Run]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tap-tailscale-curve-") as tmp:
            workdir = Path(tmp)
            for length in days:
                config = tap_config(url, end - timedelta(days=length), end, 3600)
                config_path = workdir / f"config-{length}.json"
                config_path.write_text(json.dumps(config))
                catalog_path = write_catalog(workdir, config_path, "network_flow")
                runs = []
                for _ in range(options.curve_runs):
                    runs.append(run_tap(workdir, config_path, catalog_path, "network_flow"))
                    print(f"  {length} days: {runs[-1].wall:.1f} s", file=sys.stderr, flush=True)
                points.append((length, median_run(runs)))
    finally:
        stop(emulator)
    print(
        "\nNetwork backfill, 100 nodes reporting every 60 s, 5 traffic items, one-hour windows, "
        f"median of {options.curve_runs} run(s) per point.\n"
    )
    print(
        "| days | windows | records | wall s | CPU s | records/s | wall µs/record | "
        "CPU µs/record | peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for length, run in points:
        print(
            f"| {length} | {round(length * 24)} | {run.records:,} | {run.wall:.1f} | "
            f"{run.cpu:.1f} | {run.records / run.wall:,.0f} | "
            f"{1e6 * run.wall / run.records:.1f} | {1e6 * run.cpu / run.records:.1f} | "
            f"{run.rss_mib:.0f} MiB |"
        )
    failures = []
    rss = [run.rss_mib for _, run in points]
    if max(rss) >= RSS_LIMIT_MIB:
        failures.append(f"peak RSS {max(rss):.0f} MiB >= {RSS_LIMIT_MIB:.0f}")
    if max(rss) - min(rss) > 15:
        failures.append(f"peak RSS grew from {min(rss):.0f} to {max(rss):.0f} MiB")
    # CPU time, not wall: other load on the machine blurs wall time far more.
    per_record = [run.cpu / run.records for _, run in points]
    if max(per_record) > 1.3 * min(per_record):
        failures.append("CPU time per record varied by more than 30% (not linear)")
    return verdict(failures)


def main() -> int:
    if sys.argv[1:2] == ["--e2e"]:  # tap | target-postgres / target-duckdb figures
        from bench_e2e import main as end_to_end  # noqa: PLC0415

        return end_to_end(sys.argv[2:])
    if len(sys.argv) == 7 and sys.argv[1] == "--floor":
        floor_main(*sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per cell (default 5)")
    parser.add_argument("--smoke", action="store_true", help="tiny workloads, one run, for CI")
    parser.add_argument("--curve", action="store_true", help="the 3-point backfill curve")
    parser.add_argument(
        "--curve-runs", type=int, default=1, help="runs per curve point (default 1)"
    )
    parser.add_argument("--only", nargs="+", help="workload names to run")
    parser.add_argument("--no-floor", action="store_true", help="run only the tap")
    options = parser.parse_args()
    if options.curve:
        return curve(options)
    return throughput(options)


if __name__ == "__main__":
    sys.exit(main())
