"""Shared helpers of the emulator tests: a fixed dataset range, requests against the logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tailscale_emulator import DEFAULT_API_KEY, Emulator, EmulatorConfig

END = datetime(2025, 3, 10, tzinfo=UTC)
START = END - timedelta(days=3)
TAILNET = "example.com"
AUTH = (DEFAULT_API_KEY, "")
NANO = "2025-03-04T09:30:00.655203306Z"
WINDOW = {"start": "2025-03-09T00:00:00Z", "end": "2025-03-09T06:00:00Z"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_config(**overrides: Any) -> EmulatorConfig:
    values: dict[str, Any] = {"dataset_start": START, "dataset_end": END}
    values.update(overrides)
    return EmulatorConfig(**values)


@pytest.fixture
def emu() -> Any:
    with Emulator(make_config()) as emulator:
        yield emulator


@pytest.fixture
def http() -> Any:
    with requests.Session() as session:
        yield session


def logs_url(emulator: Emulator, kind: str, tailnet: str = "-") -> str:
    return f"{emulator.url}/api/v2/tailnet/{tailnet}/logging/{kind}"


def fetch(
    session: requests.Session,
    emulator: Emulator,
    kind: str,
    start: datetime | str,
    end: datetime | str,
    *,
    auth: Any = AUTH,
    tailnet: str = "-",
    **params: Any,
) -> requests.Response:
    query = {
        "start": start if isinstance(start, str) else iso(start),
        "end": end if isinstance(end, str) else iso(end),
        **params,
    }
    return session.get(logs_url(emulator, kind, tailnet), params=query, auth=auth, timeout=10)
