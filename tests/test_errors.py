"""Every user error ends in one clear line, a non-zero exit, no traceback and no secret."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tailscale_emulator import Credential, Emulator, FaultPlan, TailnetConfig
from tap_tailscale.client.exchange import ResponseRules, check_response
from tap_tailscale.client.retry import RetryPolicy
from tap_tailscale.errors import (
    ApiRequestError,
    AuthenticationError,
    RetriableError,
    WindowTooLargeError,
)
from tap_tailscale.tap import TapTailscale
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, error_line, fast_settings, run_cli, run_tap

if TYPE_CHECKING:
    from pathlib import Path

RECENT = {
    "start_date": format_timestamp(NOW - timedelta(hours=6)),
    "end_date": format_timestamp(NOW),
}


def assert_clean_failure(result: Any, *, code: int, secrets: tuple[str, ...] = ()) -> str:
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    line = error_line(result.stderr)
    for secret in secrets:
        assert secret not in result.stdout
        assert secret not in result.stderr
    return line


def test_wrong_api_key_is_a_401_with_advice(emulator: Emulator, tmp_path: Path) -> None:
    secret = "wrong-key-9f8e7d6c5b4a"
    result = run_cli(
        [], config=fast_settings(emulator.url, api_key=secret, **RECENT), tmp_path=tmp_path
    )
    line = assert_clean_failure(result, code=2, secrets=(secret,))
    assert "HTTP 401" in line
    assert "create a new one" in line


def test_missing_scope_names_the_scope(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.api_keys["network-only"] = Credential(scopes=("logs:network:read",))
    result = run_cli(
        [], config=fast_settings(emulator.url, api_key="network-only", **RECENT), tmp_path=tmp_path
    )
    # The network streams still finish, so the run ends with 3 (partly done), in one line.
    line = assert_clean_failure(result, code=3)
    assert "HTTP 403" in line
    assert "logs:configuration:read" in line


def test_unknown_tailnet_shows_the_api_message(emulator: Emulator, tmp_path: Path) -> None:
    result = run_cli(
        [], config=fast_settings(emulator.url, tailnet="nope.example", **RECENT), tmp_path=tmp_path
    )
    line = assert_clean_failure(result, code=2)
    assert "HTTP 404" in line
    assert "tailnet not found" in line


def test_no_credentials_is_a_config_error(emulator: Emulator, tmp_path: Path) -> None:
    settings = fast_settings(emulator.url, **RECENT)
    del settings["api_key"]
    line = assert_clean_failure(run_cli([], config=settings, tmp_path=tmp_path), code=2)
    assert "Set exactly one auth method" in line


def test_malformed_setting_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    settings = fast_settings(emulator.url, lag_seconds="soon", **RECENT)
    line = assert_clean_failure(run_cli([], config=settings, tmp_path=tmp_path), code=2)
    assert "invalid settings" in line
    assert "lag_seconds" in line or "soon" in line


def test_discovery_needs_no_credentials(tmp_path: Path) -> None:
    result = run_cli(["--discover"], config=None, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    streams = {s["tap_stream_id"] for s in json.loads(result.stdout)["streams"]}
    assert streams == set(TapTailscale(config={}, parse_env_config=False).streams)
    assert {"configuration_audit", "network_flow", "admin_audit", "devices"} <= streams


@pytest.mark.parametrize(
    ("tailnet", "phrase"),
    [
        (TailnetConfig(plan_has_flow_logs=False), "Premium or Enterprise"),
        (TailnetConfig(flow_logs_enabled=False), "switched on"),
    ],
)
def test_network_403_skips_the_stream_and_the_rest_syncs(
    make_emulator: Any, tmp_path: Path, tailnet: TailnetConfig, phrase: str
) -> None:
    emulator = make_emulator(tailnets={"example.com": tailnet})
    result = run_cli([], config=fast_settings(emulator.url, **RECENT), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert phrase in result.stderr
    streams = {json.loads(line).get("stream") for line in result.stdout.splitlines()}
    assert "configuration_audit" in streams
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert not any(m["type"] == "RECORD" and m["stream"] == "network_flow" for m in records)


def test_missing_network_scope_skips_network_with_a_warning(emulator: Emulator) -> None:
    emulator.config.api_keys["audit-only"] = Credential(scopes=("logs:configuration:read",))
    run = run_tap(fast_settings(emulator.url, api_key="audit-only", **RECENT))
    assert run.error is None
    assert run.records.get("configuration_audit")
    assert "network_flow" not in run.records


@pytest.mark.parametrize("kind", ["429", "429-retry-after", "429-retry-after-date", "503"])
def test_transient_statuses_are_retried(emulator: Emulator, kind: str) -> None:
    emulator.config.faults = FaultPlan(first_n=3, kinds=(kind,))
    run = run_tap(fast_settings(emulator.url, **RECENT), streams=("configuration_audit",))
    assert run.error is None
    statuses = [r.status for r in emulator.requests if "logging" in r.path]
    assert statuses[:3] == [int(kind[:3])] * 3
    assert statuses[3] == 200


def _response(
    status: int, body: dict | None = None, headers: dict | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body or {}).encode()
    response.headers.update(headers or {})
    response.url = "http://127.0.0.1/api/v2/tailnet/-/logging/configuration"
    return response


def _rules() -> ResponseRules:
    def forbidden(message: str) -> None:
        raise AssertionError(message)

    return ResponseRules(
        stream="configuration_audit",
        api_url="http://127.0.0.1",
        can_shrink=True,
        max_body_bytes=None,
        on_forbidden=forbidden,
        secrets=list,
    )


def test_400_shows_the_api_message() -> None:
    with pytest.raises(ApiRequestError, match="HTTP 400: missing or invalid parameter"):
        check_response(_response(400, {"message": "missing or invalid parameter(s)"}), _rules())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RetriableError),
        (500, RetriableError),
        (503, RetriableError),
        (502, WindowTooLargeError),
        (504, WindowTooLargeError),
        (404, ApiRequestError),
        (401, AuthenticationError),
    ],
)
def test_each_status_maps_to_one_error(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_response(_response(status, {"message": "m"}), _rules())


def _policy(**overrides: Any) -> RetryPolicy:
    settings: dict[str, Any] = {"max_attempts": 5, "initial": 1.0, "ceiling": 30.0}
    return RetryPolicy(**{**settings, **overrides}, wall_clock=lambda: NOW, sleep=lambda _: None)


def test_retry_after_seconds_and_dates_are_honoured_and_capped() -> None:
    policy = _policy(ceiling=30.0)
    seconds = RetriableError("429", _response(429, headers={"Retry-After": "7"}))
    assert policy.delay(1, seconds) == 7
    later = format_datetime(NOW + timedelta(seconds=20), usegmt=True)
    dated = RetriableError("429", _response(429, headers={"Retry-After": later}))
    assert policy.delay(1, dated) == 20
    huge = RetriableError("429", _response(429, headers={"Retry-After": "3600"}))
    assert policy.delay(1, huge) == 30


def test_backoff_without_retry_after_grows_with_jitter_and_a_ceiling() -> None:
    policy = _policy(initial=1.0, ceiling=10.0)
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (8, 10)):
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "jitter should spread retries"


def test_no_secret_in_any_output_or_state(make_emulator: Any, tmp_path: Path) -> None:
    key = "distinctive-secret-key-31415926"
    emulator = make_emulator(api_keys={key: Credential()})
    ok = run_cli([], config=fast_settings(emulator.url, api_key=key, **RECENT), tmp_path=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = run_cli(
        [], config=fast_settings(emulator.url, api_key=key + "x", **RECENT), tmp_path=tmp_path
    )
    assert bad.returncode == 2
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    for output in (ok.stdout, ok.stderr, bad.stdout, bad.stderr):
        assert key not in output
        assert encoded not in output
