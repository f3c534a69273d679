"""The Tailscale API emulator behaves like the API facts in tailscale-api.md, deterministically.

Shapes, authentication, filters and window semantics of the two logging endpoints.
"""

from __future__ import annotations

import collections
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import requests

from tailscale_emulator import (
    DEFAULT_API_KEY,
    EVENT_TYPES,
    Credential,
    Emulator,
    TailnetConfig,
    event_type_of,
)
from tailscale_emulator.events import CONFIG_PERIOD, config_bodies
from tailscale_emulator.timefmt import parse_rfc3339_ns
from tap_tailscale.admin_audit.actions import LIVE_ROWS
from tests.emulator_support import (
    AUTH,
    END,
    NANO,
    START,
    TAILNET,
    emu,
    fetch,
    http,
    iso,
    logs_url,
    make_config,
)

__all__ = ["emu", "http"]  # fixtures


# ------------------------------------------------------------------------------ shapes


def _ns(text: str) -> int:
    """Epoch nanoseconds of a timestamp the emulator wrote (which must parse)."""
    ns = parse_rfc3339_ns(text)
    assert ns is not None, text
    return ns


def test_configuration_endpoint_shape_matches_dataset(
    emu: Emulator, http: requests.Session
) -> None:
    lo, hi = END - timedelta(days=1), END
    resp = fetch(http, emu, "configuration", lo, hi)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Transfer-Encoding"] == "chunked"
    body = resp.json()
    # The live envelope: `tailnetId`, before or after `logs` (JSON has no key order).
    assert sorted(body) == ["logs", "tailnetId", "version"]
    assert body["version"] == "1.1"
    assert body["tailnetId"] == TAILNET
    assert body["logs"] == list(emu.dataset.configuration_events(TAILNET, lo, hi))
    assert len(body["logs"]) > 90
    times = [_ns(e["eventTime"]) for e in body["logs"]]
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
    live = {row.event for row in LIVE_ROWS}
    assert {event_type_of(e) for e in events} == set(EVENT_TYPES) | live
    tokens = sum(event_type_of(e) == "OAUTH_ACCESS_TOKEN.CREATE" for e in events)
    assert 0.1 < tokens / len(events) < 0.35, "OAuth token events are common, as live"
    assert all(_ns(e["logged"]) > _ns(e["eventTime"]) for e in events)
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
    kinds: collections.Counter[str] = collections.Counter()
    for event in events:
        for key in ("old", "new"):
            kinds[type(event[key]).__name__ if key in event else "missing"] += 1
    assert {"str", "int", "float", "bool", "list", "dict", "NoneType", "missing"} <= set(kinds)
    assert any("error" in e for e in events)
    assert any("actionDetails" in e for e in events)
    assert any("newField" in e for e in events)
    for event in events:
        assert ("tags" in event["actor"]) <= (event["actor"]["type"] == "NODE")
        # Only NODE targets carry it, and the live API leaves it off some (POSTURE).
        assert ("isEphemeral" in event["target"]) <= (event["target"]["type"] == "NODE")
    acl = [e for e in events if event_type_of(e) == "TAILNET.UPDATE.ACL"]
    assert acl
    policies = [e[k] for e in acl for k in ("old", "new")]
    assert all(isinstance(p, str) for p in policies)
    assert any("//" in p for p in policies) or any("/*" in p for p in policies)
    assert {e["actor"]["type"] for e in events} >= {"USER", "NODE", "OAUTH_CLIENT", "SCIM"}


def test_no_operation_holds_the_same_event_twice() -> None:
    # An exact copy has the same content key, so tests comparing keys with the dataset
    # failed in the minutes whose range held such an operation (4 slots of the period).
    for salt in (1, 7, 12345):
        for slot in range(CONFIG_PERIOD):
            bodies = [
                orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
                for b in config_bodies(salt, TAILNET, slot, 12)
            ]
            assert len(set(bodies)) == len(bodies), (salt, slot)


def test_network_content_exercises_every_edge() -> None:
    tailnets = {
        TAILNET: TailnetConfig(network_nodes=6, network_interval_seconds=60, huge_counters=True)
    }
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


def test_missing_scope_is_the_live_403_without_a_hint(http: requests.Session) -> None:
    keys = {"cfg-only": Credential(scopes=("logs:configuration:read",), name="cfg-only")}
    with Emulator(make_config(api_keys=keys)) as emulator:
        ok = fetch(http, emulator, "configuration", START, END, auth=("cfg-only", ""))
        denied = fetch(http, emulator, "network", START, END, auth=("cfg-only", ""))
    assert ok.status_code == 200
    assert denied.status_code == 403
    assert denied.json() == {
        "message": "calling actor does not have enough permissions to perform this function"
    }


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
    unknown = http.get(f"{emu.url}/api/v2/tailnet/-/oauth-apps", auth=AUTH, timeout=10)
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
        assert not [e for e in everything if quiet_ns[0] <= _ns(e["eventTime"]) < quiet_ns[1]]


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


def test_the_envelope_names_the_tailnet_before_or_after_logs(
    emu: Emulator, http: requests.Session
) -> None:
    orders = set()
    # One window in three names it after `logs`: of 30 windows, some of each ((2/3)**30).
    for hours in range(1, 31):
        lo = END - timedelta(hours=hours)
        resp = fetch(http, emu, "configuration", lo, lo + timedelta(hours=1))
        body = resp.json()
        assert body["tailnetId"] == TAILNET
        assert "tailnet" not in body
        orders.add(tuple(body))
        # The order is the same for the same window (a retry sees the same body).
        assert tuple(fetch(http, emu, "configuration", lo, lo + timedelta(hours=1)).json()) == (
            tuple(body)
        )
    assert orders == {("version", "tailnetId", "logs"), ("logs", "tailnetId", "version")}


def test_shuffle_logs_breaks_time_order_but_keeps_every_entry(http: requests.Session) -> None:
    lo, hi = END - timedelta(days=1), END
    with Emulator(make_config()) as plain, Emulator(make_config(shuffle_logs=True)) as mixed:
        for kind, field in (("configuration", "eventTime"), ("network", "logged")):
            ordered = fetch(http, plain, kind, lo, hi).json()["logs"]
            shuffled = fetch(http, mixed, kind, lo, hi).json()["logs"]
            assert shuffled != ordered
            assert sorted(map(orjson.dumps, shuffled)) == sorted(map(orjson.dumps, ordered))
            times = [_ns(e[field]) for e in shuffled]
            assert times != sorted(times)


def test_default_counters_are_realistic_and_huge_ones_need_the_switch() -> None:
    def largest(huge: bool) -> int:
        tailnets = {TAILNET: TailnetConfig(network_nodes=6, huge_counters=huge)}
        records = Emulator(make_config(tailnets=tailnets)).dataset.all_network_logs(TAILNET)
        return max(
            conn.get(counter, 0)
            for record in records
            for name in ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic")
            for conn in record.get(name, [])
            for counter in ("txBytes", "rxBytes")
        )

    assert largest(huge=False) < 1 << 32
    assert largest(huge=True) == (1 << 64) - 1
