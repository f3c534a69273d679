"""The emulator's OAuth endpoints, injected faults and streaming behave as documented."""

from __future__ import annotations

import itertools
import math
import time
import tracemalloc
import types
from datetime import timedelta
from email.utils import parsedate_to_datetime
from http.client import HTTPConnection

import orjson
import pytest
import requests

from tailscale_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    Credential,
    Emulator,
    Fault,
    FaultPlan,
    TailnetConfig,
)
from tests.emulator_support import (
    AUTH,
    END,
    START,
    TAILNET,
    WINDOW,
    emu,
    fetch,
    http,
    iso,
    logs_url,
    make_config,
)

__all__ = ["emu", "http"]  # fixtures


# ------------------------------------------------------------------------------- OAuth


def _token(http: requests.Session, emulator: Emulator, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        **form,
    }
    return http.post(f"{emulator.url}/api/v2/oauth/token", data=data, timeout=10)


def test_oauth_client_credentials_scopes_and_expiry(http: requests.Session) -> None:
    with Emulator(make_config(token_lifetime_seconds=1)) as emulator:
        resp = _token(http, emulator)
        assert resp.status_code == 200
        body = resp.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 1
        assert body["scope"] == "all:read"
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        url = logs_url(emulator, "configuration")
        window = {"start": iso(END - timedelta(hours=1)), "end": iso(END)}
        assert http.get(url, params=window, headers=bearer, timeout=10).status_code == 200
        assert emulator.requests[-1].credential_id == DEFAULT_CLIENT_ID

        refused = _token(http, emulator, scope="logs:network:read devices:core")
        # As live: a scope the client does not hold refuses the whole request.
        assert refused.status_code == 403
        assert refused.json() == {
            "message": 'OAuth client cannot grant scopes "logs:network:read devices:core"'
        }
        narrow = _token(http, emulator, scope="logs:network:read").json()
        assert narrow["scope"] == "logs:network:read"
        narrow_auth = {"Authorization": f"Bearer {narrow['access_token']}"}
        denied = http.get(url, params=window, headers=narrow_auth, timeout=10)
        assert denied.status_code == 403

        assert _token(http, emulator, scope="logs:everything").status_code == 400
        assert _token(http, emulator, client_secret="wrong").json() == {
            "message": "invalid client credentials"
        }
        assert _token(http, emulator, grant_type="password").status_code == 400
        via_basic = http.post(
            f"{emulator.url}/api/v2/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            timeout=10,
        )
        assert via_basic.status_code == 200
        assert len(emulator.token_requests) == 7
        assert all(DEFAULT_CLIENT_SECRET not in str(r) for r in emulator.requests)

        emulator.expire_tokens()  # as if the 1 s lifetime had passed, without waiting
        expired = http.get(url, params=window, headers=bearer, timeout=10)
        assert expired.status_code == 401
        assert expired.json() == {"message": "API token invalid"}


def test_token_exchange(emu: Emulator, http: requests.Session) -> None:
    url = f"{emu.url}/api/v2/oauth/token-exchange"
    good = http.post(
        url,
        data={"client_id": DEFAULT_FEDERATED_CLIENT_ID, "jwt": "eyJhbGc.eyJzdWI.c2ln"},
        timeout=10,
    )
    assert good.status_code == 200
    assert good.json()["token_type"] == "Bearer"
    bearer = {"Authorization": f"Bearer {good.json()['access_token']}"}
    window = {"start": iso(END - timedelta(hours=1)), "end": iso(END)}
    assert http.get(logs_url(emu, "network"), params=window, headers=bearer, timeout=10).ok
    for form in (
        {"client_id": DEFAULT_FEDERATED_CLIENT_ID, "jwt": "not-a-jwt"},
        {"client_id": DEFAULT_FEDERATED_CLIENT_ID, "jwt": "eyJonly.two"},
        {"client_id": "someone-else", "jwt": "eyJa.b.c"},
    ):
        assert http.post(url, data=form, timeout=10).status_code == 401
    assert len(emu.token_requests) == 4


# ------------------------------------------------------------------------------ faults


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("429", 429, "too many requests"),
        ("500", 500, "internal server error"),
        ("502", 502, "unable to communicate with logging server"),
        ("503", 503, "service unavailable"),
        ("504", 504, "request took too long to process, please try again later"),
    ],
)
def test_status_faults(
    emu: Emulator, http: requests.Session, kind: str, status: int, message: str
) -> None:
    emu.config.faults = FaultPlan(first_n=1, kinds=(kind,))
    url = logs_url(emu, "configuration")
    resp = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    assert resp.status_code == status
    assert resp.json() == {"message": message}
    assert "Retry-After" not in resp.headers
    assert http.get(url, params=WINDOW, auth=AUTH, timeout=10).status_code == 200
    assert [r.fault for r in emu.requests] == [kind, None]


def test_retry_after_faults(emu: Emulator, http: requests.Session) -> None:
    emu.config.faults = FaultPlan(
        first_n=2, kinds=("429-retry-after", Fault.HTTP_429_RETRY_AFTER_DATE)
    )
    url = logs_url(emu, "network")
    seconds = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    assert seconds.status_code == 429
    assert seconds.headers["Retry-After"] == "1"
    # The date is one second after the answer, whole seconds rounded up. Bracketing the
    # request with the wall clock checks that however long the machine takes to answer.
    asked = time.time()
    dated = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    answered = time.time()
    assert dated.status_code == 429
    retry_at = parsedate_to_datetime(dated.headers["Retry-After"]).timestamp()
    assert asked + 1 <= retry_at <= math.ceil(answered) + 1


def test_connection_faults(emu: Emulator, http: requests.Session) -> None:
    emu.config.faults = FaultPlan(
        first_n=5,
        kinds=("reset", "slow", "truncated", "bad-json", "logs-not-array"),
        # Longer than any test: the wait ends when the emulator stops, so the client's
        # 0.2 s read timeout below fires whatever the machine's load.
        slow_seconds=3600,
    )
    url = logs_url(emu, "configuration")
    with pytest.raises(requests.ConnectionError):
        http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    with pytest.raises(requests.ReadTimeout):
        http.get(url, params=WINDOW, auth=AUTH, timeout=0.2)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    bad = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    assert bad.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(bad.content)
    not_array = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    assert not_array.json() == {"logs": 5}
    assert http.get(url, params=WINDOW, auth=AUTH, timeout=10).json()["logs"]
    log = emu.requests
    assert [r.fault for r in log] == [
        "reset",
        "slow",
        "truncated",
        "bad-json",
        "logs-not-array",
        None,
    ]
    assert log[0].status is None
    assert log[2].status == 200
    assert log[2].bytes_sent > 0


def test_rate_faults_are_reproducible_and_path_scoped(http: requests.Session) -> None:
    sequences = []
    for _ in range(2):
        plan = FaultPlan(rate=0.5, kinds=("500", "503"), seed=3, paths=("logging/network",))
        with Emulator(make_config(faults=plan)) as emulator:
            for _ in range(12):
                http.get(logs_url(emulator, "network"), params=WINDOW, auth=AUTH, timeout=10)
                cfg = http.get(
                    logs_url(emulator, "configuration"), params=WINDOW, auth=AUTH, timeout=10
                )
                assert cfg.status_code == 200
            sequences.append([r.status for r in emulator.requests if "network" in r.path])
    assert sequences[0] == sequences[1]
    assert set(sequences[0]) == {200, 500, 503}


def test_windows_always_failing(emu: Emulator, http: requests.Session) -> None:
    bad_lo, bad_hi = END - timedelta(hours=5), END - timedelta(hours=4)
    emu.config.faults = FaultPlan(windows_always_failing=[(bad_lo, bad_hi, "502")])
    for _ in range(3):
        assert (
            fetch(
                http, emu, "network", bad_lo - timedelta(minutes=30), bad_lo + timedelta(minutes=1)
            ).status_code
            == 502
        )
    assert fetch(http, emu, "network", bad_lo - timedelta(hours=1), bad_lo).status_code == 200
    assert fetch(http, emu, "network", bad_hi, END).status_code == 200


def test_capacity_limits_answer_504(emu: Emulator, http: requests.Session) -> None:
    emu.config.max_window_seconds = 3600
    assert fetch(http, emu, "configuration", END - timedelta(hours=1), END).status_code == 200
    too_long = fetch(http, emu, "configuration", END - timedelta(hours=2), END)
    assert too_long.status_code == 504
    assert too_long.json() == {
        "message": "request took too long to process, please try again later"
    }
    emu.config.max_window_seconds = None
    emu.config.max_entries_per_response = 36
    assert fetch(http, emu, "network", END - timedelta(hours=1), END).status_code == 200
    assert fetch(http, emu, "network", END - timedelta(hours=2), END).status_code == 504
    assert [r.fault for r in emu.requests] == [None, "max-window", None, "max-entries"]


# --------------------------------------------------------------------------- streaming


def test_big_network_window_streams_lazily(http: requests.Session) -> None:
    tailnets = {TAILNET: TailnetConfig(network_nodes=50, network_interval_seconds=5)}
    with Emulator(make_config(tailnets=tailnets)) as emulator:
        lo, hi = END - timedelta(seconds=2000), END
        count = sum(1 for _ in emulator.dataset.network_logs(TAILNET, lo, hi))
        assert count == 20_000
        # Second pass with payload caches warm: what remains is per-window memory.
        generated = emulator.dataset.network_logs(TAILNET, lo, hi)
        assert isinstance(generated, types.GeneratorType)
        tracemalloc.start()
        try:
            # tracemalloc slows every allocation, so trace a slice; a list would still grow.
            assert sum(1 for _ in itertools.islice(generated, 4000)) == 4000
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2**20  # 4000 records held at once would take ~20 MiB
        resp = fetch(http, emulator, "network", lo, hi)
        assert resp.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in resp.headers
        assert len(orjson.loads(resp.content)["logs"]) == count
        assert emulator.requests[-1].bytes_sent == len(resp.content)


def test_keep_alive_serves_many_requests_on_one_connection(emu: Emulator) -> None:
    conn = HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        for path in ("configuration", "network", "nope", "configuration"):
            conn.request(
                "GET",
                f"/api/v2/tailnet/-/logging/{path}?start=2025-03-09T00:00:00Z&end=2025-03-09T03:00:00Z",
                headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            )
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == (404 if path == "nope" else 200)
            assert orjson.loads(body)
            assert not resp.will_close
    finally:
        conn.close()


def test_reset_log_and_runtime_reconfiguration(emu: Emulator, http: requests.Session) -> None:
    assert fetch(http, emu, "configuration", START, END).status_code == 200
    emu.reset_log()
    assert emu.requests == []
    emu.config.api_keys["late-key"] = Credential(name="late")
    assert fetch(http, emu, "configuration", START, END, auth=("late-key", "")).status_code == 200
    assert emu.requests[0].credential_id == "late"
