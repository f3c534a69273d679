"""One request path for every endpoint: log windows, inventory snapshots, the name lookup.

Each scripted answer below is given to all three paths, and each must make the same
number of requests, wait the same waits and reach the same verdict: the client's
retry loop, deadline and status rules are one, whichever endpoint met the failure.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tap_tailscale.client import USER_AGENT, RetryLoop, RetryPolicy, TailscaleClient
from tap_tailscale.errors import AuthenticationError, StreamHaltedError, describe
from tap_tailscale.logs.tailnet_names import ask_tailnet_name
from tap_tailscale.tap import TapTailscale
from tests.conftest import fast_settings

CONFIGURATION_BODY = b'{"tailnetId": "example.com", "logs": []}'
USERS_BODY = b'{"users": []}'
MAX_ATTEMPTS = 3


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted"


@dataclass
class ScriptedApi:
    """A local HTTP server that gives each request the next scripted answer."""

    script: list[Answer]
    seen: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> Answer:
        index = min(len(self.seen) - 1, len(self.script) - 1)
        return self.script[index]


def _handler(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            api.seen.append((self.path.split("?")[0], self.headers.get("User-Agent", "")))
            answer = api.answer()
            if answer.status == 200:
                body = (
                    USERS_BODY
                    if self.path.split("?")[0].endswith("/users")
                    else (CONFIGURATION_BODY)
                )
            else:
                body = json.dumps({"message": answer.message}).encode()
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def scripted_api(*script: Answer) -> Iterator[ScriptedApi]:
    api = ScriptedApi(list(script))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class Outcome:
    """What one path did: its requests, its waits and its verdict."""

    requests: int
    waits: tuple[float, ...]
    verdict: str


class Clocks:
    """An injected monotonic clock (optionally racing ahead) and a recorded sleep."""

    def __init__(self, *, racing: bool) -> None:
        self.waits: list[float] = []
        ticks = itertools.count(0, 1000 if racing else 0)
        self.clock: Callable[[], float] = lambda: float(next(ticks))

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def _tap(config: dict[str, Any], clocks: Clocks) -> TapTailscale:
    class InjectedTap(TapTailscale):
        @cached_property
        def client(self) -> TailscaleClient:
            client = super().client
            client.clock, client.sleep = clocks.clock, clocks.sleep
            return client

    return InjectedTap(config=config, parse_env_config=False)


def _config(url: str, tailnet: str) -> dict[str, Any]:
    return fast_settings(
        url,
        tailnets=[tailnet],
        max_attempts=MAX_ATTEMPTS,
        start_date=(datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        configuration_window_seconds=3600,
        min_window_seconds=3600,
        request_deadline_seconds=60,
        # Retry-After wins up to this ceiling.
        max_backoff_seconds=10,
    )


def _sync(tap: TapTailscale, stream: str) -> str:
    for name, candidate in tap.streams.items():
        candidate.selected = name == stream
    with redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
        try:
            tap.sync_all()
        except AuthenticationError as exc:
            return f"fails the run: {exc}"
        except StreamHaltedError:
            (halted,) = tap.report.halted
            return f"halted: {halted.split('last error: ')[1].rstrip(')')}"
    return "read"


def log_window(url: str, clocks: Clocks, caplog: pytest.LogCaptureFixture) -> str:
    return _sync(_tap(_config(url, "example.com"), clocks), "configuration_audit")


def inventory(url: str, clocks: Clocks, caplog: pytest.LogCaptureFixture) -> str:
    return _sync(_tap(_config(url, "example.com"), clocks), "users")


def name_lookup(url: str, clocks: Clocks, caplog: pytest.LogCaptureFixture) -> str:
    tap = _tap(_config(url, "-"), clocks)
    try:
        with caplog.at_level(logging.INFO, logger="tap_tailscale.logs.tailnet_names"):
            name = ask_tailnet_name("-", tap.client)
    except AuthenticationError as exc:
        return f"fails the run: {exc}"
    if name is not None:
        return "read"
    # The name is a convenience: the lookup says why it failed and the run goes on.
    said = caplog.records[-1].getMessage()
    return f"halted: {said.split('(', 1)[1].rsplit('); records carry', 1)[0]}"


PATHS = {"log window": log_window, "inventory": inventory, "name lookup": name_lookup}


def _outcomes(
    script: list[Answer], caplog: pytest.LogCaptureFixture, *, racing: bool = False
) -> dict[str, Outcome]:
    outcomes = {}
    for label, path in PATHS.items():
        clocks = Clocks(racing=racing)
        with scripted_api(*script) as api:
            verdict = path(api.url, clocks, caplog)
        assert {agent for _, agent in api.seen} == {USER_AGENT}, label
        outcomes[label] = Outcome(len(api.seen), tuple(clocks.waits), verdict)
    return outcomes


def test_a_rate_limit_is_waited_out_the_same_way_on_every_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = [Answer(429, {"Retry-After": "2"}), Answer(429, {"Retry-After": "3"}), Answer(200)]
    outcomes = _outcomes(script, caplog)
    assert set(outcomes.values()) == {Outcome(3, (2.0, 3.0), "read")}, outcomes


def test_retries_used_up_halt_every_path_with_the_same_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    script = [Answer(503, {"Retry-After": "1"}, message="upstream down")]
    outcomes = _outcomes(script, caplog)
    expected = Outcome(MAX_ATTEMPTS, (1.0, 1.0), "halted: HTTP 503: upstream down")
    assert set(outcomes.values()) == {expected}, outcomes


def test_the_deadline_is_the_same_on_every_path(caplog: pytest.LogCaptureFixture) -> None:
    # The injected clock jumps 1,000 s a reading: every body is past its 60 s deadline.
    outcomes = _outcomes([Answer(200)], caplog, racing=True)
    verdicts = {outcome.verdict for outcome in outcomes.values()}
    assert verdicts == {"halted: the request ran past request_deadline_seconds"}, outcomes
    assert {outcome.requests for outcome in outcomes.values()} == {MAX_ATTEMPTS}


def test_a_rejected_credential_fails_every_path_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = _outcomes([Answer(401, message="invalid key")], caplog)
    (only,) = set(outcomes.values())
    assert only.requests == 1
    assert only.waits == ()
    assert only.verdict.startswith("fails the run: Tailscale rejected the credential (HTTP 401")


def test_the_retry_loop_spends_its_budget_then_refuses() -> None:
    waits: list[float] = []
    loop = RetryLoop(RetryPolicy(max_attempts=3, initial=1, ceiling=8, sleep=waits.append))
    error = RuntimeError("boom")
    assert loop.again(error)
    assert loop.again(error)
    assert not loop.again(error)
    assert len(waits) == 2
    assert describe(error) == "RuntimeError"
    loop.succeeded()
    assert loop.again(error)
