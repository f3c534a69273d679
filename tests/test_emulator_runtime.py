"""The emulator as a program and as a benchmark fixture: CLI, latency, counters, timestamps."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import requests

from tailscale_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    Emulator,
)
from tailscale_emulator.cli import build_config, credential_lines, main
from tests.emulator_support import (
    AUTH,
    END,
    NANO,
    TAILNET,
    WINDOW,
    http,
    logs_url,
    make_config,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["http"]  # fixtures


def stopped_clock() -> float:
    """A clock that never moves, so the latency left to wait is always all of it."""
    return 0.0


def test_help_names_the_accepted_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for credential in (
        DEFAULT_API_KEY,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_FEDERATED_CLIENT_ID,
    ):
        assert credential in text
    assert "--latency-seconds" in text
    assert "--deny-inventory-scopes" in text


def test_cli_flags_reach_the_config() -> None:
    parser_args = ["--latency-seconds", "0.5", "--deny-inventory-scopes", "--days", "1"]
    from tailscale_emulator.cli import _parser  # noqa: PLC0415 - the parser is private

    config = build_config(_parser().parse_args(parser_args))
    assert config.latency_seconds == 0.5
    assert config.deny_inventory_scopes
    assert "devices:core:read" in config.denied()
    lines = credential_lines(config)
    assert f"api key: {DEFAULT_API_KEY} (tailnet example.com)" in [x.strip() for x in lines]


# ------------------------------------------------------------------------------ latency


def test_latency_applies_to_log_endpoints_only(http: requests.Session) -> None:
    slept: list[float] = []
    with Emulator(
        make_config(), latency_seconds=0.5, sleep=slept.append, clock=stopped_clock
    ) as emulator:
        for kind in ("configuration", "network"):
            assert http.get(logs_url(emulator, kind), params=WINDOW, auth=AUTH).ok
        assert http.get(f"{emulator.url}/api/v2/tailnet/-/devices", auth=AUTH).ok
        token = http.post(
            f"{emulator.url}/api/v2/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        )
        assert token.ok
    assert slept == [0.5, 0.5]


def test_latency_from_the_config_and_none_by_default(http: requests.Session) -> None:
    slept: list[float] = []
    with Emulator(
        make_config(latency_seconds=0.25), sleep=slept.append, clock=stopped_clock
    ) as emulator:
        assert http.get(logs_url(emulator, "network"), params=WINDOW, auth=AUTH).ok
    with Emulator(make_config(), sleep=slept.append) as emulator:
        assert http.get(logs_url(emulator, "network"), params=WINDOW, auth=AUTH).ok
    assert slept == [0.25]
    with pytest.raises(ValueError, match="latency_seconds"):
        make_config(latency_seconds=-1)


def test_latency_also_delays_errors(http: requests.Session) -> None:
    slept: list[float] = []
    with Emulator(
        make_config(), latency_seconds=0.5, sleep=slept.append, clock=stopped_clock
    ) as emulator:
        url = logs_url(emulator, "network")
        assert http.get(url, params=WINDOW, auth=("wrong-key", "")).status_code == 401
        assert http.get(url, params={"start": "x"}, auth=AUTH).status_code == 400
    assert slept == [0.5, 0.5]


def test_the_body_is_built_during_the_latency_not_after_it(http: requests.Session) -> None:
    # Each clock reading is 0.1 s later: the time spent building the body before the first
    # byte comes off the wait, as a real API's query time is part of its latency.
    ticks = iter(range(10_000))
    slept: list[float] = []
    with Emulator(make_config(), sleep=slept.append) as plain:
        expected = http.get(logs_url(plain, "network"), params=WINDOW, auth=AUTH).content
    with Emulator(
        make_config(),
        latency_seconds=0.5,
        sleep=slept.append,
        clock=lambda: next(ticks) / 10,
    ) as emulator:
        body = http.get(logs_url(emulator, "network"), params=WINDOW, auth=AUTH).content
    assert body == expected
    assert len(slept) == 1
    assert 0 <= slept[0] < 0.5


def test_a_body_larger_than_what_the_latency_prepares_still_arrives_whole(
    http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tailscale_emulator.logs._PREPARED_BYTES", 1)
    with Emulator(make_config()) as plain:
        expected = http.get(logs_url(plain, "network"), params=WINDOW, auth=AUTH).content
    with Emulator(
        make_config(), latency_seconds=0.5, sleep=lambda _s: None, clock=stopped_clock
    ) as emulator:
        body = http.get(logs_url(emulator, "network"), params=WINDOW, auth=AUTH).content
    assert len(expected) > 1
    assert body == expected


# ----------------------------------------------------------------------------- counters


def test_counters_per_path_and_window(http: requests.Session) -> None:
    with Emulator(make_config()) as emulator:
        other = {"start": WINDOW["start"], "end": "2025-03-09T01:00:00Z"}
        for params in (WINDOW, WINDOW, other):
            assert http.get(logs_url(emulator, "network"), params=params, auth=AUTH).ok
        assert http.get(logs_url(emulator, "configuration"), params=WINDOW, auth=AUTH).ok
        assert emulator.request_counts() == collections.Counter(
            {"/api/v2/tailnet/-/logging/network": 3, "/api/v2/tailnet/-/logging/configuration": 1}
        )
        assert emulator.window_counts("/logging/network") == collections.Counter(
            {(WINDOW["start"], WINDOW["end"]): 2, (other["start"], other["end"]): 1}
        )
        assert emulator.peak_in_flight("/logging/network") == 1
        emulator.reset_log()
        assert emulator.request_counts() == collections.Counter()
        assert emulator.peak_in_flight() == 0


def test_peak_in_flight_counts_concurrent_requests(http: requests.Session) -> None:
    # The injected sleep holds each request until three are inside: no wall-clock timing.
    arrived = threading.Barrier(3, timeout=10)
    with Emulator(make_config(), latency_seconds=1, sleep=lambda _s: arrived.wait()) as emulator:
        url = logs_url(emulator, "network")

        def one() -> None:
            with requests.Session() as session:
                assert session.get(url, params=WINDOW, auth=AUTH, timeout=10).ok

        threads = [threading.Thread(target=one) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert emulator.peak_in_flight("/logging/network") == 3
        assert emulator.peak_in_flight("/logging/configuration") == 0


# --------------------------------------------------------------------------- timestamps


def test_every_log_timestamp_field_carries_nanoseconds_sometimes() -> None:
    emulator = Emulator(make_config(dataset_start=END - timedelta(days=1)))
    events = list(emulator.dataset.all_configuration_events(TAILNET))
    records = list(emulator.dataset.all_network_logs(TAILNET))
    fields = {
        "eventTime": [e["eventTime"] for e in events],
        **{name: [r[name] for r in records] for name in ("logged", "start", "end")},
    }
    for name, values in fields.items():
        nanos = [v for v in values if len(v) == len(NANO)]
        assert nanos, name
        assert all(v.endswith("Z") and v[19] == "." for v in nanos), name
    assert sum(len(v) == len(NANO) for v in fields["logged"]) < len(records) / 2


# ----------------------------------------------------------------------------------- CLI


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    config_file = tmp_path / "emulator.json"
    config_file.write_text(
        json.dumps(
            {
                "dataset_start": "2025-03-09T00:00:00Z",
                "dataset_end": "2025-03-10T00:00:00Z",
                "tailnets": {"corp.example": {"network_nodes": 2, "quiet_periods": []}},
                "api_keys": {"file-key": {"tailnet": "corp.example", "scopes": ["all:read"]}},
                "faults": {"first_n": 1, "kinds": ["503"]},
            }
        )
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tailscale_emulator",
            "--config",
            str(config_file),
            "--seed",
            "9",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        base = line.removeprefix("emulator listening on ")
        credentials = [proc.stdout.readline().strip() for _ in range(3)]
        assert credentials == [
            "api key: file-key (tailnet corp.example)",
            f"oauth client id: {DEFAULT_CLIENT_ID}, client secret: {DEFAULT_CLIENT_SECRET}",
            f"federated client id: {DEFAULT_FEDERATED_CLIENT_ID} (any JWT starting with eyJ)",
        ]
        url = f"{base}/api/v2/tailnet/-/logging/network"
        window = {"start": "2025-03-09T00:00:00Z", "end": "2025-03-09T01:00:00Z"}
        with requests.Session() as session:
            assert (
                session.get(url, params=window, auth=("file-key", ""), timeout=10).status_code
                == 503
            )
            resp = session.get(url, params=window, auth=("file-key", ""), timeout=10)
        assert resp.status_code == 200
        assert len(resp.json()["logs"]) == 24
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
