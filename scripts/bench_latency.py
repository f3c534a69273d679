"""Window read-ahead under API latency: 48 network windows with 0.5 s added per request.

For `read_ahead_windows` n = 1, 2 and 4 it reports the wall time against the ideal
bound max(no-latency wall time, 48 x 0.5 s / n) and the peak RSS; then, for memory,
four windows of about 250k entries each read with n = 4.

A shared machine's speed drifts by a third from minute to minute, and drift only ever
adds time; so the no-latency run and the n = 2 and n = 4 runs are repeated `--runs`
times, interleaved, and each keeps its fastest run (n = 1 runs once: it has no goal).

Goals (exit code 1 if one is missed): wall <= 1.25 x the ideal bound for n = 2 and 4,
and peak RSS <= 100 MiB in every run.

Usage: python scripts/bench_latency.py [--latency 0.5] [--runs 3] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    RSS_LIMIT_MIB,
    Run,
    byte_compile_the_tap,
    dataset_end,
    run_tap,
    start_emulator,
    stop,
    tap_config,
    write_catalog,
)

WINDOWS = 48
BOUND_LIMIT = 1.25


def _run(
    url: str, workdir: Path, start: datetime, end: datetime, window: int, read_ahead: int, tag: str
) -> Run:
    config = tap_config(url, start, end, window)
    config["read_ahead_windows"] = read_ahead
    config_path = workdir / f"config-{tag}.json"
    config_path.write_text(json.dumps(config))
    catalog = write_catalog(workdir, config_path, "network_flow")
    return run_tap(workdir, config_path, catalog, "network_flow")


def latency_table(latency: float, runs: int) -> bool:
    end = dataset_end()
    start = end - timedelta(hours=WINDOWS)
    data = ["--start", start.isoformat(), "--end", end.isoformat(), "--nodes", "100"]
    data += ["--network-interval", "60", "--traffic-items", "5"]
    ok = True
    with tempfile.TemporaryDirectory(prefix="tap-tailscale-latency-") as tmp:
        workdir = Path(tmp)
        plain, plain_url = start_emulator(data)
        slow, slow_url = start_emulator([*data, "--latency-seconds", str(latency)])
        try:
            fastest: dict[int, Run] = {}
            peak_rss: dict[int, float] = {}
            for _ in range(runs):
                for depth in (0, 2, 4):  # 0: the no-latency baseline (read one at a time)
                    url = plain_url if depth == 0 else slow_url
                    run = _run(url, workdir, start, end, 3600, max(depth, 1), f"n{depth}")
                    if depth not in fastest or run.wall < fastest[depth].wall:
                        fastest[depth] = run
                    peak_rss[depth] = max(peak_rss.get(depth, 0.0), run.rss_mib)
            fastest[1] = _run(slow_url, workdir, start, end, 3600, 1, "n1")
            peak_rss[1] = fastest[1].rss_mib
        finally:
            stop(plain)
            stop(slow)
    baseline = fastest[0]
    print(f"no latency: {baseline.wall:.1f} s, {baseline.records:,} records (fastest of {runs})")
    print("| read_ahead_windows | wall (s) | ideal bound (s) | wall / bound | peak RSS (MiB) |")
    print("|---|---|---|---|---|")
    for depth in (1, 2, 4):
        run, rss = fastest[depth], peak_rss[depth]
        bound = max(baseline.wall, WINDOWS * latency / depth)
        ratio = run.wall / bound
        print(f"| {depth} | {run.wall:.1f} | {bound:.1f} | {ratio:.2f} | {rss:.0f} |")
        ok &= rss <= RSS_LIMIT_MIB and (depth == 1 or ratio <= BOUND_LIMIT)
    ok &= peak_rss[0] <= RSS_LIMIT_MIB
    return ok


def memory_case() -> bool:
    end = dataset_end()
    window = 2500  # 100 nodes every second: about 250k entries a window
    start = end - timedelta(seconds=4 * window)
    data = ["--start", start.isoformat(), "--end", end.isoformat(), "--nodes", "100"]
    data += ["--network-interval", "1", "--traffic-items", "2"]
    emulator, url = start_emulator(data)
    try:
        with tempfile.TemporaryDirectory(prefix="tap-tailscale-latency-") as tmp:
            run = _run(url, Path(tmp), start, end, window, 4, "memory")
    finally:
        stop(emulator)
    print(
        f"4 windows of ~250k entries, read_ahead_windows=4: {run.records:,} records, "
        f"{run.wall:.1f} s, peak RSS {run.rss_mib:.0f} MiB"
    )
    return run.rss_mib <= RSS_LIMIT_MIB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--runs", type=int, default=3, help="runs of each timed case")
    parser.add_argument("--skip-memory", action="store_true")
    options = parser.parse_args()
    byte_compile_the_tap()
    ok = latency_table(options.latency, options.runs)
    if not options.skip_memory:
        ok &= memory_case()
    print("latency goals met" if ok else "latency goals MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
