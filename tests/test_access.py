"""Authentication through the tap: connection test, OAuth lifetimes, federation, secrets."""

from __future__ import annotations

import itertools
import json
import math
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tailscale_emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    Credential,
    Emulator,
    TailnetConfig,
)
from tailscale_emulator.oauth import OAuthMixin
from tap_tailscale.client import exchange as request_module
from tap_tailscale.client.auth import build_authenticator, refresh_margin
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, error_line, fast_settings, run_cli, run_tap

RECENT = {
    "start_date": format_timestamp(NOW - timedelta(hours=6)),
    "end_date": format_timestamp(NOW),
}


def oauth_settings(api_url: str, **overrides: Any) -> dict[str, Any]:
    settings = fast_settings(
        api_url, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET
    )
    del settings["api_key"]
    settings.update(overrides)
    return settings


def connection_lines(stderr: str) -> list[str]:
    return [
        line.split("Connection test: ", 1)[1]
        for line in stderr.splitlines()
        if "Connection test: " in line
    ]


def test_connection_test_reports_each_stream(emulator: Emulator, tmp_path: Path) -> None:
    result = run_cli(["--test"], config=fast_settings(emulator.url), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = connection_lines(result.stderr)
    assert "configuration_audit [tailnet - = example.com]: OK" in lines
    assert "network_flow [tailnet - = example.com]: OK" in lines
    assert "admin_audit [tailnet - = example.com]: OK" in lines
    for stream in ("network_connection", "ocsf_audit", "devices", "users", "policy", "dns"):
        assert f"{stream} [tailnet - = example.com]: OK" in lines
    for stream in ("device_posture", "device_invites"):
        assert f"{stream} [tailnet - = example.com]: OK" in lines
    # An API access token carries its owner's rights: which kinds of key it reads is unknown.
    keys = next(line for line in lines if line.startswith("keys [tailnet - = example.com]: "))
    assert keys.endswith(
        ": OK, but which kinds of key are listed is unknown: the credential "
        "does not say which scopes it holds (an API access token carries its "
        "owner's rights)"
    )
    for stream in ("tailnet_settings", "log_streaming", "webhooks", "services", "contacts"):
        assert f"{stream} [tailnet - = example.com]: OK" in lines
    assert "21 of 21 stream checks usable." in lines
    assert '"type": "RECORD"' not in result.stdout


def test_connection_test_names_a_missing_scope(emulator: Emulator, tmp_path: Path) -> None:
    emulator.config.api_keys["audit-only"] = Credential(scopes=("logs:configuration:read",))
    result = run_cli(
        ["--test"], config=fast_settings(emulator.url, api_key="audit-only"), tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    network = next(
        line for line in connection_lines(result.stderr) if line.startswith("network_flow")
    )
    assert "NOT USABLE" in network
    assert "logs:network:read" in network
    assert "configuration_audit [tailnet - = example.com]: OK" in connection_lines(result.stderr)


def test_connection_test_reports_flow_logs_off_the_plan(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(tailnets={"example.com": TailnetConfig(plan_has_flow_logs=False)})
    result = run_cli(["--test"], config=fast_settings(emulator.url), tmp_path=tmp_path)
    assert result.returncode == 0
    network = next(
        line for line in connection_lines(result.stderr) if line.startswith("network_flow")
    )
    assert "Premium or Enterprise" in network


def test_connection_test_fails_when_nothing_is_usable(emulator: Emulator, tmp_path: Path) -> None:
    result = run_cli(
        ["--test"], config=fast_settings(emulator.url, api_key="revoked-key"), tmp_path=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no selected stream is usable" in result.stderr
    assert "HTTP 401" in result.stderr


def test_oauth_token_is_refreshed_before_expiry_across_lifetimes(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tap's clock is driven by the emulator's request count, not the wall clock, so
    # the run spans the same number of token lifetimes on a fast or a loaded machine.
    lifetime = emulator.config.token_lifetime_seconds
    seconds_per_request = lifetime / 500

    def clock() -> float:
        return len(emulator.requests) * seconds_per_request

    monkeypatch.setattr(
        "tap_tailscale.tap.build_authenticator", partial(build_authenticator, clock=clock)
    )
    settings = oauth_settings(
        emulator.url, **RECENT, configuration_window_seconds=10, min_window_seconds=10
    )
    run = run_tap(settings, streams=("configuration_audit",))
    assert run.error is None
    logging_requests = [r for r in emulator.requests if "/logging/" in r.path]
    assert len(logging_requests) >= 2000
    assert [r.status for r in logging_requests if r.status != 200] == []
    lifetimes = clock() / lifetime
    assert lifetimes > 3, "the run should span several token lifetimes"
    # Renewed at lifetime minus min(300 s, 20%): about one token per lifetime, never
    # one per request, and never one used past its lifetime.
    renew_after = lifetime - refresh_margin(lifetime)
    assert math.floor(lifetimes) <= len(emulator.token_requests)
    assert len(emulator.token_requests) <= math.ceil(clock() / renew_after) + 1
    assert all(r.auth == "bearer" for r in logging_requests)


def test_bad_client_secret_is_one_clear_line(emulator: Emulator, tmp_path: Path) -> None:
    secret = "not-the-secret-1234567"
    settings = oauth_settings(emulator.url, client_secret=secret, **RECENT)
    result = run_cli([], config=settings, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "client_id and client_secret" in error_line(result.stderr)
    assert secret not in result.stderr
    assert secret not in result.stdout


def test_federated_identity_with_a_rotating_token_file(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Token expiry runs on one virtual clock, shared by the emulator and the tap, that
    # moves 10 ms a request: the same lifetimes pass on a fast machine and a loaded one.
    emulator: Emulator | None = None

    def clock() -> float:
        return len(emulator.requests) * 0.01 if emulator is not None else 0.0

    emulator = make_emulator(token_lifetime_seconds=0.5, clock=clock)
    monkeypatch.setattr(
        "tap_tailscale.tap.build_authenticator", partial(build_authenticator, clock=clock)
    )
    token_file = tmp_path / "id-token"

    def jwt(n: int) -> str:
        return f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaS1{n}In0.c2lnbmF0dXJl{n}"

    token_file.write_text(jwt(0))
    # The CI runner rotates the file after each use, before the tap can need it again:
    # each exchange must send the file's current token, never one it read before.
    exchanged: list[str] = []
    exchange = OAuthMixin._token_exchange

    def exchange_then_rotate(
        handler: OAuthMixin, entry: Any, form: dict[str, list[str]]
    ) -> dict[str, Any]:
        exchanged.append(form["jwt"][0])
        token_file.write_text(jwt(len(exchanged)))
        return exchange(handler, entry, form)

    monkeypatch.setattr(OAuthMixin, "_token_exchange", exchange_then_rotate)
    settings = fast_settings(
        emulator.url,
        client_id=DEFAULT_FEDERATED_CLIENT_ID,
        id_token_file=str(token_file),
        configuration_window_seconds=60,
        **RECENT,
    )
    del settings["api_key"]
    run = run_tap(settings, streams=("configuration_audit",))
    assert run.error is None
    exchanges = [r for r in emulator.token_requests if r.path.endswith("/token-exchange")]
    assert len(exchanges) >= 2
    assert all(r.status == 200 for r in exchanges)
    assert exchanged == [jwt(n) for n in range(len(exchanges))]
    assert all(r.status == 200 for r in emulator.requests if "/logging/" in r.path)


@pytest.mark.parametrize("method", ["api_key_basic", "api_key_bearer", "oauth", "federated"])
def test_no_secret_in_output_state_logs_or_recordings(
    make_emulator: Any, tmp_path: Path, method: str
) -> None:
    api_key = "scan-me-api-key-27182818"
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzY2FuIn0.c2VjcmV0LXNpZ25hdHVyZQ"
    emulator = make_emulator(api_keys={api_key: Credential()}, token_lifetime_seconds=0.5)
    settings = fast_settings(emulator.url, **RECENT, record_dir=str(tmp_path / "recording"))
    del settings["api_key"]
    if method.startswith("api_key"):
        settings.update(api_key=api_key, api_key_scheme=method.removeprefix("api_key_"))
    elif method == "oauth":
        settings.update(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
    else:
        settings.update(client_id=DEFAULT_FEDERATED_CLIENT_ID, id_token=jwt)
    ok = run_cli([], config=settings, tmp_path=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    states = [json.loads(line)["value"] for line in ok.stdout.splitlines() if '"STATE"' in line]
    wrong = {**settings, "record_dir": None}
    for key in ("api_key", "client_secret", "id_token"):
        if wrong.get(key):
            wrong[key] = "wrong" + wrong[key]
    failed = run_cli([], config=wrong, tmp_path=tmp_path)
    assert failed.returncode == 2
    secrets = [api_key, DEFAULT_CLIENT_SECRET, jwt, *emulator.issued_tokens()]
    recorded = b"".join(path.read_bytes() for path in (tmp_path / "recording").iterdir())
    haystacks = [
        ok.stdout,
        ok.stderr,
        failed.stdout,
        failed.stderr,
        json.dumps(states),
        recorded.decode(),
    ]
    for secret in secrets:
        for haystack in haystacks:
            assert secret not in haystack


def test_a_401_mid_run_refreshes_the_token_once_and_retries(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(token_lifetime_seconds=3600)
    # Every fifth window request finds its token revoked: counted, not timed, so the
    # run means the same on any machine.
    sent = itertools.count(1)
    real_send = request_module.send

    def send_with_revocations(*args: Any, **kwargs: Any) -> Any:
        if "/logging/" in args[1].url and next(sent) % 5 == 0:
            emulator.expire_tokens()
        return real_send(*args, **kwargs)

    monkeypatch.setattr(request_module, "send", send_with_revocations)
    settings = oauth_settings(
        emulator.url, **RECENT, configuration_window_seconds=60, read_ahead_windows=1
    )
    run = run_tap(settings, streams=("configuration_audit",))
    assert run.error is None
    statuses = [r.status for r in emulator.requests if "/logging/" in r.path]
    assert 401 in statuses, "tokens should have been revoked under the run"
    for position, status in enumerate(statuses):
        if status == 401:
            assert statuses[position + 1] == 200, "a 401 is followed by one retry that works"
    assert len(emulator.token_requests) == statuses.count(401) + 1


def test_a_second_401_after_refreshing_is_fatal(make_emulator: Any, tmp_path: Path) -> None:
    emulator = make_emulator(token_lifetime_seconds=0)
    result = run_cli([], config=oauth_settings(emulator.url, **RECENT), tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "HTTP 401" in result.stderr
    statuses = [r.status for r in emulator.requests if "/logging/" in r.path]
    assert statuses == [401, 401]
