"""The Tailscale API emulator behaves like the API facts in tailscale-api.md, deterministically."""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import types
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.client import HTTPConnection
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import requests

from tailscale_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    EVENT_TYPES,
    Credential,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultPlan,
    TailnetConfig,
    event_type_of,
)
from tailscale_emulator.timefmt import parse_rfc3339_ns

if TYPE_CHECKING:
    from pathlib import Path

END = datetime(2025, 3, 10, tzinfo=UTC)
START = END - timedelta(days=3)
TAILNET = "example.com"
AUTH = (DEFAULT_API_KEY, "")
NANO = "2025-03-04T09:30:00.655203306Z"


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


# ------------------------------------------------------------------------------ shapes


def test_configuration_endpoint_shape_matches_dataset(
    emu: Emulator, http: requests.Session
) -> None:
    lo, hi = END - timedelta(days=1), END
    resp = fetch(http, emu, "configuration", lo, hi)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Transfer-Encoding"] == "chunked"
    body = resp.json()
    assert list(body) == ["version", "tailnet", "logs"]
    assert body["version"] == "1.1"
    assert body["tailnet"] == TAILNET
    assert body["logs"] == list(emu.dataset.configuration_events(TAILNET, lo, hi))
    assert len(body["logs"]) > 90
    times = [parse_rfc3339_ns(e["eventTime"]) for e in body["logs"]]
    assert times == sorted(times)
    required = {"eventTime", "type", "eventGroupID", "origin", "actor", "target", "action"}
    for event in body["logs"]:
        assert required <= set(event)
        assert event["type"] == "CONFIG"
        assert event["eventTime"].endswith("Z")
        assert len(event["eventGroupID"]) == 32


def test_network_endpoint_shape_matches_dataset(emu: Emulator, http: requests.Session) -> None:
    lo, hi = END - timedelta(hours=12), END
    resp = fetch(http, emu, "network", lo, hi)
    assert resp.status_code == 200
    body = orjson.loads(resp.content)
    assert list(body) == ["logs"]
    assert body["logs"] == list(emu.dataset.network_logs(TAILNET, lo, hi))
    assert len(body["logs"]) == 12 * 12 * 3
    for record in body["logs"]:
        assert {"logged", "nodeId", "start", "end"} <= set(record)
        # Microseconds mostly, nanoseconds now and then, as the API writes them.
        assert len(record["logged"]) in {len("2025-03-04T09:30:06.412985Z"), len(NANO)}
        assert record["nodeId"].startswith("n")
        assert record["nodeId"].endswith("CNTRL")
        for name in ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic"):
            assert record.get(name, [None]) != []  # empty arrays are omitted, never sent


def test_configuration_content_exercises_every_edge(emu: Emulator) -> None:
    events = list(emu.dataset.all_configuration_events(TAILNET))
    assert {event_type_of(e) for e in events} == set(EVENT_TYPES)
    groups = collections.defaultdict(list)
    for event in events:
        groups[event["eventGroupID"]].append(event)
    pairs = [g for g in groups.values() if len(g) == 2]
    assert pairs
    assert all(len(g) <= 2 for g in groups.values())
    for first, second in pairs:
        assert first["eventTime"] == second["eventTime"]
        assert first != second
    fractions = collections.Counter(
        len(e["eventTime"].split(".")[1]) - 1 if "." in e["eventTime"] else 0 for e in events
    )
    assert fractions[6] > len(events) / 2
    assert fractions[9]
    assert fractions[0]
    assert fractions[2] + fractions[3]
    assert any(e["deferredAt"] != "0001-01-01T00:00:00Z" for e in events)
    assert sum(e["deferredAt"] == "0001-01-01T00:00:00Z" for e in events) > len(events) / 2
    kinds = collections.Counter()
    for event in events:
        for key in ("old", "new"):
            kinds[type(event[key]).__name__ if key in event else "missing"] += 1
    assert {"str", "int", "float", "bool", "list", "dict", "NoneType", "missing"} <= set(kinds)
    assert any("error" in e for e in events)
    assert any("actionDetails" in e for e in events)
    assert any("newField" in e for e in events)
    for event in events:
        assert ("tags" in event["actor"]) <= (event["actor"]["type"] == "NODE")
        assert ("isEphemeral" in event["target"]) == (event["target"]["type"] == "NODE")
    acl = [e for e in events if event_type_of(e) == "TAILNET.UPDATE.ACL"]
    assert acl
    policies = [e[k] for e in acl for k in ("old", "new")]
    assert all(isinstance(p, str) for p in policies)
    assert any("//" in p for p in policies) or any("/*" in p for p in policies)
    assert {e["actor"]["type"] for e in events} >= {"USER", "NODE", "OAUTH_CLIENT", "SCIM"}


def test_network_content_exercises_every_edge() -> None:
    tailnets = {TAILNET: TailnetConfig(network_nodes=6, network_interval_seconds=60)}
    emulator = Emulator(make_config(tailnets=tailnets))
    records = list(emulator.dataset.network_logs(TAILNET, END - timedelta(hours=6), END))
    conns = [
        (name, c)
        for r in records
        for name in ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic")
        for c in r.get(name, [])
    ]
    assert {name for name, _ in conns} == {
        "virtualTraffic",
        "subnetTraffic",
        "exitTraffic",
        "physicalTraffic",
    }
    assert all("proto" not in c for name, c in conns if name == "physicalTraffic")
    protos = {c["proto"] for name, c in conns if name != "physicalTraffic"}
    assert {6, 17, 1} <= protos
    assert protos & {"tcp", "udp"}
    counters = [c.get(k) for _, c in conns for k in ("txPkts", "txBytes", "rxPkts", "rxBytes")]
    assert None in counters  # zero counters are omitted
    assert 0 not in counters
    assert any(v is not None and v > 2**53 for v in counters)
    assert 18446744073709551615 in counters
    assert any(c["dst"].startswith("[") for _, c in conns)
    assert any("srcNode" in r and r["dstNodes"] for r in records)
    assert all(len(r["start"].split(".")[1]) <= 10 for r in records if "." in r["start"])
    same_instant = collections.Counter(r["logged"] for r in records)
    assert max(same_instant.values()) >= 2
    assert all(
        len({r["nodeId"] for r in records if r["logged"] == t}) == n
        for t, n in same_instant.items()
    )


# -------------------------------------------------------------------------------- auth


def test_basic_and_bearer_api_key(emu: Emulator, http: requests.Session) -> None:
    lo, hi = END - timedelta(hours=3), END
    basic = fetch(http, emu, "configuration", lo, hi)
    bearer = http.get(
        logs_url(emu, "configuration"),
        params={"start": iso(lo), "end": iso(hi)},
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        timeout=10,
    )
    assert basic.status_code == bearer.status_code == 200
    assert basic.content == bearer.content
    assert [r.auth for r in emu.requests] == ["basic", "bearer"]
    assert {r.credential_id for r in emu.requests} == {"emulator-demo"}
    assert all(DEFAULT_API_KEY not in str(r) for r in emu.requests)


@pytest.mark.parametrize(
    "auth",
    [None, ("wrong-key", ""), "Bearer nope", "Basic !!notbase64", "Digest abc"],
)
def test_unauthenticated_is_401(emu: Emulator, http: requests.Session, auth: Any) -> None:
    headers = {"Authorization": auth} if isinstance(auth, str) else {}
    resp = http.get(
        logs_url(emu, "configuration"),
        params={"start": iso(START), "end": iso(END)},
        auth=auth if isinstance(auth, tuple) else None,
        headers=headers,
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"message": "API token invalid"}


def test_missing_scope_is_403_naming_the_scope(http: requests.Session) -> None:
    keys = {"cfg-only": Credential(scopes=("logs:configuration:read",), name="cfg-only")}
    with Emulator(make_config(api_keys=keys)) as emulator:
        ok = fetch(http, emulator, "configuration", START, END, auth=("cfg-only", ""))
        denied = fetch(http, emulator, "network", START, END, auth=("cfg-only", ""))
    assert ok.status_code == 200
    assert denied.status_code == 403
    assert denied.json()["message"].endswith("requires scope logs:network:read")


def test_network_plan_and_setting_are_403(emu: Emulator, http: requests.Session) -> None:
    tailnet = emu.config.tailnets[TAILNET]
    tailnet.plan_has_flow_logs = False
    resp = fetch(http, emu, "network", START, END)
    assert resp.status_code == 403
    assert resp.json() == {"message": "network flow logs are not available on this tailnet's plan"}
    tailnet.plan_has_flow_logs, tailnet.flow_logs_enabled = True, False
    resp = fetch(http, emu, "network", START, END)
    assert resp.status_code == 403
    assert resp.json() == {"message": "network flow logging is disabled for this tailnet"}
    assert fetch(http, emu, "configuration", START, END).status_code == 200


def test_tailnet_resolution_and_404(emu: Emulator, http: requests.Session) -> None:
    lo = END - timedelta(hours=2)
    by_name = fetch(http, emu, "configuration", lo, END, tailnet=TAILNET)
    by_dash = fetch(http, emu, "configuration", lo, END)
    assert by_name.status_code == 200
    assert by_name.content == by_dash.content
    other = fetch(http, emu, "configuration", lo, END, tailnet="other.example")
    assert other.status_code == 404
    assert other.json() == {"message": "tailnet not found"}
    unknown = http.get(f"{emu.url}/api/v2/tailnet/-/webhooks", auth=AUTH, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "not found"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"end": "2025-03-09T00:00:00Z"}, "missing or invalid parameter(s): start"),
        ({"start": "yesterday", "end": "2025-03-09T00:00:00Z"}, "parameter(s): start"),
        ({"start": "2025-03-09T00:00:00Z"}, "missing or invalid parameter(s): end"),
        ({"start": "2025-03-09T00:00:00Z", "end": "2025-03-08T00:00:00Z"}, "end is before"),
        # A literal "+" decodes to a space, as in any URL query; clients must encode it.
        ({"start": "2025-03-09T00:00:00 01:00", "end": "2025-03-09T01:00:00Z"}, "start"),
        ({"start": "2025-03-08T00:00:00Z", "end": "2025-03-09T00:00:00Z", "event": "X.Y"}, "event"),
    ],
)
def test_bad_parameters_are_400(
    emu: Emulator, http: requests.Session, params: dict[str, str], message: str
) -> None:
    resp = http.get(logs_url(emu, "configuration"), params=params, auth=AUTH, timeout=10)
    assert resp.status_code == 400
    assert message in resp.json()["message"]


def test_rfc3339_variants_are_accepted(emu: Emulator, http: requests.Session) -> None:
    plain = fetch(http, emu, "configuration", "2025-03-09T00:00:00Z", "2025-03-09T12:00:00Z")
    offset = fetch(
        http, emu, "configuration", "2025-03-08T16:00:00-08:00", "2025-03-09T13:00:00.000+01:00"
    )
    fractional = fetch(
        http, emu, "configuration", "2025-03-09T00:00:00.000000000Z", "2025-03-09T12:00:00.0Z"
    )
    assert plain.status_code == offset.status_code == fractional.status_code == 200
    assert plain.content == offset.content == fractional.content


# ----------------------------------------------------------------------------- filters


def test_filters(emu: Emulator, http: requests.Session) -> None:
    everything = list(emu.dataset.all_configuration_events(TAILNET))

    def query(**params: Any) -> list[dict[str, Any]]:
        resp = fetch(http, emu, "configuration", START, END, **params)
        assert resp.status_code == 200
        return resp.json()["logs"] or []

    wanted = ["NODE.CREATE", "TAILNET.UPDATE.ACL"]
    by_event = query(event=wanted)
    assert by_event
    assert by_event == [e for e in everything if event_type_of(e) in wanted]
    by_actor = query(actor="uAl1ce7CNTRL")
    assert by_actor
    assert all(e["actor"]["id"] == "uAl1ce7CNTRL" for e in by_actor)
    by_search = query(actor="~ZOË")
    assert by_search
    assert all("zoë" in e["actor"]["displayName"].lower() for e in by_search)
    by_target = query(target=["TAIL", "build-runner"])
    assert by_target == [
        e
        for e in everything
        if any(
            s in (e["target"]["id"] + " " + e["target"]["name"]).lower()
            for s in ("tail", "build-runner")
        )
    ]
    combined = query(event=wanted, actor="~alice")
    assert combined == [e for e in by_event if "alice" in e["actor"].get("loginName", "")]
    assert len(combined) < len(by_event)


# -------------------------------------------------------------------------- semantics


def _whole_second_event(emulator: Emulator) -> dict[str, Any]:
    return next(
        e for e in emulator.dataset.all_configuration_events(TAILNET) if "." not in e["eventTime"]
    )


def test_end_bound_inclusive_by_default_and_exclusive_when_asked(
    emu: Emulator, http: requests.Session
) -> None:
    event = _whole_second_event(emu)
    at = event["eventTime"]
    start = iso(datetime.fromisoformat(at) - timedelta(minutes=1))
    inclusive = fetch(http, emu, "configuration", start, at).json()["logs"]
    assert event in inclusive
    assert fetch(http, emu, "configuration", at, at).json()["logs"][0] == event
    emu.config.inclusive_end = False
    exclusive = fetch(http, emu, "configuration", start, at).json()["logs"] or []
    assert event not in exclusive
    assert event in fetch(http, emu, "configuration", at, iso(END)).json()["logs"]


def test_empty_windows_answer_null_or_empty_list(http: requests.Session) -> None:
    quiet = (END - timedelta(hours=6), END - timedelta(hours=3))
    tailnets = {TAILNET: TailnetConfig(quiet_periods=[quiet])}
    with Emulator(make_config(tailnets=tailnets)) as emulator:
        inside = [(quiet[0] + timedelta(seconds=s), quiet[1] - timedelta(hours=1)) for s in (0, 1)]
        for lo, hi in inside:
            for kind in ("configuration", "network"):
                assert fetch(http, emulator, kind, lo, hi).json()["logs"] is None
        emulator.config.null_logs_for_empty = False
        shapes = {
            kind: [fetch(http, emulator, kind, lo, hi).json()["logs"] for lo, hi in inside]
            for kind in ("configuration", "network")
        }
        assert shapes == {"configuration": [[], None], "network": [[], None]}
        quiet_ns = [int(q.timestamp()) * 10**9 for q in quiet]
        everything = list(emulator.dataset.all_configuration_events(TAILNET))
        assert everything
        assert not [
            e for e in everything if quiet_ns[0] <= parse_rfc3339_ns(e["eventTime"]) < quiet_ns[1]
        ]


def test_overlapping_windows_return_identical_events(emu: Emulator, http: requests.Session) -> None:
    a = fetch(http, emu, "configuration", END - timedelta(hours=30), END - timedelta(hours=10))
    b = fetch(http, emu, "configuration", END - timedelta(hours=20), END)
    first, second = a.json()["logs"], b.json()["logs"]
    shared = [e for e in first if e in second]
    assert len(shared) > 20
    assert shared == [e for e in second if e in first]
    net_a = fetch(http, emu, "network", END - timedelta(hours=3), END - timedelta(hours=1))
    net_b = fetch(http, emu, "network", END - timedelta(hours=2), END)
    overlap = [r for r in net_a.json()["logs"] if r in net_b.json()["logs"]]
    expected = list(
        emu.dataset.network_logs(TAILNET, END - timedelta(hours=2), END - timedelta(hours=1))
    )
    assert overlap == expected
    assert len(expected) == 12 * 3


def test_same_seed_is_deterministic_across_instances(http: requests.Session) -> None:
    bodies = []
    for seed in (7, 7, 8):
        with Emulator(make_config(seed=seed)) as emulator:
            bodies.append(
                (
                    fetch(http, emulator, "configuration", START, END).content,
                    fetch(http, emulator, "network", END - timedelta(hours=6), END).content,
                )
            )
    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]
    assert bodies[0][1] != bodies[2][1]


def test_adjacent_exclusive_windows_partition_the_dataset(http: requests.Session) -> None:
    with Emulator(make_config(inclusive_end=False)) as emulator:
        step = timedelta(hours=7, minutes=13, seconds=7)
        got: dict[str, list[dict[str, Any]]] = {"configuration": [], "network": []}
        lo = START
        while lo < END:
            hi = min(lo + step, END)
            for kind, items in got.items():
                items.extend(fetch(http, emulator, kind, lo, hi).json()["logs"] or [])
            lo = hi
        assert got["configuration"] == list(emulator.dataset.all_configuration_events(TAILNET))
        assert got["network"] == list(emulator.dataset.all_network_logs(TAILNET))


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

        narrow = _token(http, emulator, scope="logs:network:read devices:core").json()
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
        assert len(emulator.token_requests) == 6
        assert all(DEFAULT_CLIENT_SECRET not in str(r) for r in emulator.requests)

        time.sleep(1.05)
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

WINDOW = {"start": "2025-03-09T00:00:00Z", "end": "2025-03-09T06:00:00Z"}


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
    dated = http.get(url, params=WINDOW, auth=AUTH, timeout=10)
    assert dated.status_code == 429
    delay = parsedate_to_datetime(dated.headers["Retry-After"]) - datetime.now(UTC)
    assert timedelta(seconds=0) < delay <= timedelta(seconds=2)


def test_connection_faults(emu: Emulator, http: requests.Session) -> None:
    emu.config.faults = FaultPlan(
        first_n=5,
        kinds=("reset", "slow", "truncated", "bad-json", "logs-not-array"),
        slow_seconds=0.6,
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
