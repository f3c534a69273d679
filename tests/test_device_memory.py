"""A 50,000-device tailnet in flat memory: `devices` alone, and with the per-device streams.

The device list used to be parsed whole: 380 MiB peak for `devices` alone. The tap runs
here as its own process against the emulator (in this process), and its own peak RSS
must stay under 150 MiB. The per-device run makes 100,000 requests: minutes
on a busy machine, hence the `memory` marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tailscale_emulator import Emulator, EmulatorConfig, TailnetConfig
from tests.conftest import DEMO_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.memory

DEVICES = 50_000
_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""
RSS_LIMIT_MIB = 150.0


def _run(url: str, streams: tuple[str, ...], tmp_path: Path) -> tuple[float, str]:
    """Run the tap with only `streams` selected; its peak RSS (MiB) and its log."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": DEMO_KEY, "api_url": url}))
    tap = [sys.executable, "-m", "tap_tailscale", "--config", str(config)]
    catalog = json.loads(
        subprocess.run([*tap, "--discover"], capture_output=True, check=True).stdout
    )
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    log = tmp_path / "tap.log"
    rss = tmp_path / "rss"
    # A child's peak RSS counts its parent's at the fork (Linux keeps the larger at exec),
    # and this process holds the emulator: a small launcher starts the tap instead.
    command = [sys.executable, "-c", _LAUNCHER, str(rss), *tap]
    with open(os.devnull, "wb") as sink, log.open("wb") as err:
        done = subprocess.run(
            [*command, "--catalog", str(tmp_path / "catalog.json")],
            stdout=sink,
            stderr=err,
            check=False,
        )
    assert done.returncode == 0, log.read_text()[-3000:]
    return int(rss.read_text()) / 1024, log.read_text()  # KiB on Linux


@pytest.fixture(scope="module")
def big_tailnet() -> Iterator[Emulator]:
    config = EmulatorConfig(tailnets={"example.com": TailnetConfig(inventory_devices=DEVICES)})
    with Emulator(config) as running:
        yield running


def test_50000_devices_alone_in_flat_memory(big_tailnet: Emulator, tmp_path: Path) -> None:
    rss, log = _run(big_tailnet.url, ("devices",), tmp_path)
    print(f"\n[figure] devices alone, {DEVICES:,} devices: peak RSS {rss:.0f} MiB")
    assert f"devices: {DEVICES} new records" in log
    assert rss < RSS_LIMIT_MIB


def test_50000_devices_with_per_device_streams_in_flat_memory(
    big_tailnet: Emulator, tmp_path: Path
) -> None:
    big_tailnet.requests.clear()
    streams = ("devices", "device_posture", "device_invites")
    rss, log = _run(big_tailnet.url, streams, tmp_path)
    print(f"\n[figure] {streams}, {DEVICES:,} devices: peak RSS {rss:.0f} MiB")
    assert f"device_posture: {DEVICES} new records" in log
    assert f"{DEVICES} of {DEVICES} devices read, 0 failed" in log
    per_device = [r for r in big_tailnet.requests if r.path.startswith("/api/v2/device/")]
    assert len(per_device) == 2 * DEVICES
    assert rss < RSS_LIMIT_MIB
