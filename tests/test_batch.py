"""BATCH mode: a STATE never claims records that no BATCH message has announced yet."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tailscale_emulator import Emulator
from tap_tailscale.logs.keys import network_flow_id
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, fast_settings

TAILNET = "example.com"


def _settings(emulator: Emulator, batches: Path) -> dict[str, Any]:
    return fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(days=2)),
        end_date=format_timestamp(NOW),
        network_window_seconds=3 * 3600,
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": f"file://{batches}", "prefix": "batch-"},
            "batch_size": 700,
        },
    )


def _catalog(tmp_path: Path, settings: dict[str, Any]) -> Path:
    """A catalog selecting network_flow alone."""
    (tmp_path / "config.json").write_text(json.dumps(settings))
    discovered = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_tailscale",
            "--config",
            str(tmp_path / "config.json"),
            "--discover",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] == "network_flow"
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = selected
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def _run(tmp_path: Path, catalog: Path, state: dict | None, kill_after: int | None) -> list[dict]:
    command = [sys.executable, "-m", "tap_tailscale", "--config", str(tmp_path / "config.json")]
    command += ["--catalog", str(catalog)]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        command += ["--state", str(tmp_path / "state.json")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_TAILSCALE_")}
    messages = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            messages.append(json.loads(line))
            if kill_after is not None and len(messages) >= kill_after:
                process.send_signal(signal.SIGKILL)
                break
    return messages


def _announced(messages: list[dict]) -> tuple[set[str], dict | None]:
    """Flow keys in every BATCH file announced, and the last STATE; checks the invariant."""
    keys: set[str] = set()
    last_state = None
    for message in messages:
        if message["type"] == "BATCH":
            for url in message["manifest"]:
                with gzip.open(Path(urlparse(url).path), "rt") as batch:
                    lines = batch.read().splitlines()
                for line in lines:
                    keys.add(json.loads(line)["flow_id"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    return keys, last_state


@pytest.mark.parametrize("kill_after", [3, 6, 9, None])
def test_batch_mode_killed_anywhere_then_resumed_loses_nothing(
    emulator: Emulator, tmp_path: Path, kill_after: int | None
) -> None:
    batches = tmp_path / "batches"
    batches.mkdir()
    settings = _settings(emulator, batches)
    catalog = _catalog(tmp_path, settings)
    first = _run(tmp_path, catalog, None, kill_after)
    before, state = _announced(first)
    assert any(m["type"] == "BATCH" for m in first) or kill_after is not None
    second = _run(tmp_path, catalog, state, None)
    after, _ = _announced(second)
    expected = {network_flow_id(e) for e in emulator.dataset.all_network_logs(TAILNET)}
    assert before | after == expected


def test_every_state_follows_the_batches_holding_its_records(
    emulator: Emulator, tmp_path: Path
) -> None:
    batches = tmp_path / "batches"
    batches.mkdir()
    settings = _settings(emulator, batches)
    messages = _run(tmp_path, _catalog(tmp_path, settings), None, None)
    logged_by_key = {
        network_flow_id(e): e["logged"] for e in emulator.dataset.all_network_logs(TAILNET)
    }
    announced: set[str] = set()
    checked = 0
    for message in messages:
        if message["type"] == "BATCH":
            announced |= _announced([message])[0]
        elif message["type"] == "STATE":
            partitions = message["value"]["bookmarks"].get("network_flow", {}).get("partitions")
            bookmark = (partitions or [{}])[0].get("replication_key_value")
            if bookmark is None:
                continue
            claimed = {k for k, logged in logged_by_key.items() if logged < bookmark[:19]}
            assert claimed <= announced, "a STATE claims records no BATCH announced"
            checked += 1
    assert checked >= 2
