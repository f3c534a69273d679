"""Shared fixtures: an emulator per test, and running the tap in-process or as a program."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tailscale_emulator import Emulator, EmulatorConfig
from tap_tailscale.errors import TailscaleUserError
from tap_tailscale.tap import TapTailscale

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

DEMO_KEY = "emulator-demo-key"
# Whole minutes keep dataset bounds and window bounds aligned.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def fast_settings(api_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a test run: the emulator, short backoffs, no lag."""
    settings: dict[str, Any] = {
        "api_key": DEMO_KEY,
        "api_url": api_url,
        "lag_seconds": 0,
        "overlap_seconds": 0,
        "initial_backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
        "request_timeout_seconds": 5,
    }
    settings.update(overrides)
    return settings


@dataclass
class TapRun:
    """What one run of the tap wrote."""

    messages: list[dict[str, Any]]
    error: TailscaleUserError | None
    stderr: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for message in self.messages:
            if message["type"] == "RECORD":
                self.records.setdefault(message["stream"], []).append(message["record"])

    @property
    def states(self) -> list[dict[str, Any]]:
        """Every STATE value, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def final_state(self) -> dict[str, Any]:
        """The last STATE value (what a runner would save)."""
        return self.states[-1] if self.states else {}

    @property
    def records_and_states(self) -> list[Any]:
        """Records and states in order; a state's signpost is the run's clock, so it is left out."""
        found: list[Any] = []
        for message in self.messages:
            if message["type"] == "RECORD":
                found.append(message["record"])
            elif message["type"] == "STATE":
                state = json.loads(json.dumps(message["value"]))
                for bookmark in state.get("bookmarks", {}).values():
                    bookmark.pop("replication_key_signpost", None)
                found.append(state)
        return found

    def keys(self, stream: str, key: str) -> list[str]:
        """The primary-key values of a stream's records, in order."""
        return [record[key] for record in self.records.get(stream, [])]


def run_tap(
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    streams: tuple[str, ...] | None = None,
) -> TapRun:
    """Run a sync in this process and capture its Singer messages."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stderr = io.StringIO()
    error: TailscaleUserError | None = None
    with redirect_stdout(stdout), redirect_stderr(stderr):
        tap = TapTailscale(config=config, state=state, parse_env_config=False)
        if streams is not None:
            for name, stream in tap.streams.items():
                stream.selected = name in streams
        try:
            tap.sync_all()
        except TailscaleUserError as exc:
            error = exc
    stdout.seek(0)
    # Split on "\n" only, as a target reading stdin does: splitlines() would also break
    # at a U+2028 inside a JSON string.
    messages = [json.loads(line) for line in stdout.read().split("\n") if line.strip()]
    return TapRun(messages=messages, error=error, stderr=stderr.getvalue())


def partition_bookmark(state: dict[str, Any], stream: str, tailnet: str = "-") -> Any:
    """The bookmark a state holds for one (stream, tailnet)."""
    for partition in state.get("bookmarks", {}).get(stream, {}).get("partitions", []):
        if partition["context"] == {"tailnet": tailnet}:
            return partition.get("replication_key_value")
    return None


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with chosen settings; all are stopped after the test."""
    started: list[Emulator] = []

    def start(
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], object] | None = None,
        **settings: Any,
    ) -> Emulator:
        settings.setdefault("dataset_end", NOW)
        settings.setdefault("dataset_start", NOW - timedelta(days=2))
        emulator = Emulator(EmulatorConfig(**settings), clock=clock, sleep=sleep)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    """A default emulator: two days of events for one tailnet."""
    return make_emulator()


def error_line(stderr: str) -> str:
    """The single `tap-tailscale: error:` line a failed run must print."""
    lines = [line for line in stderr.splitlines() if line.startswith("tap-tailscale: error:")]
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def run_cli(
    args: list[str],
    *,
    config: dict[str, Any] | None,
    tmp_path: Path,
    state: dict[str, Any] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `tap-tailscale` program, as a user or Meltano would."""
    command = [sys.executable, "-m", "tap_tailscale", *args]
    if config is not None:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config))
        command += ["--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TAP_TAILSCALE_")}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environment, check=False
    )


# The SDK's built-in attribute tests detect types from "type" or "anyOf" only. `old` and
# `new` hold any JSON value (declared as oneOf over the JSON types plus null): read as
# anyOf they would be called boolean, read as oneOf they are called non-nullable. Both
# verdicts are wrong, so these four generated tests are deselected; test_records.py and
# the schema-validation tests cover the columns instead.
_ANY_JSON_ATTRIBUTE_TESTS = {
    f"test_tap_stream_attribute_not_null[{stream}.{column}]"
    for stream in ("configuration_audit", "admin_audit")
    for column in ("old", "new")
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselected = [item for item in items if item.name in _ANY_JSON_ATTRIBUTE_TESTS]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.name not in _ANY_JSON_ATTRIBUTE_TESTS]
