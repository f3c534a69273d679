"""What the tap sends is what a warehouse can load: checked offline, in this process.

Every record must validate against the SCHEMA message the tap sent for its stream, with
the SDK's own flattening off, at depth 1 and at depth 3; `old`/`new` must come back as
the exact JSON value the API sent (a string stays a string, a boolean a boolean, an
integer past 2^53 exact); the API's nanosecond timestamps must come out unchanged; and
network reports without `nodeId` must be emitted. The loaders themselves are tried in
tests/e2e/test_warehouses.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tap_tailscale.logs.keys import configuration_event_id
from tap_tailscale.tap import TapTailscale
from tap_tailscale.timeutil import normalize_timestamp
from tests.conftest import NOW, fast_settings, run_tap
from tests.e2e.edge_values import EDGE_VALUES, canonical, emulator_package, inject, loaded

if TYPE_CHECKING:
    Emulator = Any  # tailscale_emulator.Emulator (its home is moving)
    from tests.conftest import TapRun

START = NOW - timedelta(hours=8)
END = NOW - timedelta(hours=2)
TAILNET = "example.com"
# RFC 3339 date-time (section 5.6), which jsonschema checks only with an extra package.
_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII | re.IGNORECASE
)
_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # a format constrains strings only; null passes
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # raises if no such day
    return True


@pytest.fixture(scope="module")
def edge_emulator() -> Any:
    package = emulator_package()
    config = package.EmulatorConfig(
        dataset_start=START - timedelta(hours=1),
        dataset_end=NOW,
        tailnets={
            TAILNET: package.TailnetConfig(
                config_event_interval_seconds=300,
                network_nodes=4,
                huge_counters=True,  # hard cases: counters up to 2**64 - 1
                network_interval_seconds=300,
            )
        },
    )
    with package.Emulator(config) as running:
        inject(running.dataset)
        yield running


def sync(emulator: Emulator, **settings: Any) -> TapRun:
    config = fast_settings(
        emulator.url,
        start_date=START.isoformat(),
        end_date=END.isoformat(),
        network_window_seconds=7200,
        configuration_window_seconds=21600,
        **settings,
    )
    run = run_tap(config)
    assert run.error is None, run.stderr[-2000:]
    return run


def schema_errors(run: TapRun) -> list[str]:
    """Every record that does not validate against its stream's SCHEMA message."""
    validators: dict[str, Draft7Validator] = {}
    errors: list[str] = []
    for message in run.messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=_FORMATS
            )
        elif message["type"] == "RECORD":
            validator = validators[message["stream"]]
            errors.extend(
                f"{message['stream']}: {error.message}"
                for error in validator.iter_errors(message["record"])
            )
    return errors


@pytest.mark.parametrize("depth", [None, 1, 3])
def test_every_record_validates_against_its_schema(edge_emulator: Emulator, depth: int) -> None:
    settings = {} if depth is None else {"flattening_enabled": True, "flattening_max_depth": depth}
    run = sync(edge_emulator, **settings)
    assert set(run.records) == set(TapTailscale(config={}, parse_env_config=False).streams)
    assert all(run.records.values()), {k: len(v) for k, v in run.records.items()}
    errors = schema_errors(run)
    assert not errors, f"{len(errors)} invalid records, e.g. {errors[:5]}"
    records = run.records["configuration_audit"]
    # Flattening leaves JSON text alone at any depth: the same column, the same value.
    assert all(isinstance(r.get("old"), str | None) for r in records)
    if depth is not None:
        assert "actor__id" in records[0]
        assert "actor" not in records[0]


def _sent_configuration(emulator: Emulator) -> dict[str, dict[str, Any]]:
    events = emulator.dataset.configuration_events(TAILNET, START, END)
    return {configuration_event_id(event): event for event in events}


@pytest.mark.parametrize("depth", [None, 3])
def test_old_and_new_round_trip_exactly(edge_emulator: Emulator, depth: int | None) -> None:
    settings = {} if depth is None else {"flattening_enabled": True, "flattening_max_depth": depth}
    records = sync(edge_emulator, **settings).records["configuration_audit"]
    sent = _sent_configuration(edge_emulator)
    assert {r["event_id"] for r in records} == set(sent)
    seen_kinds: set[str] = set()
    for record in records:
        event = sent[record["event_id"]]
        for field in ("old", "new"):
            value = event.get(field)
            assert canonical(loaded(record[field])) == canonical(value), (field, record[field])
            seen_kinds.add(canonical(value))
    # The range holds every edge value, so each round trip above was really exercised.
    assert {canonical(value) for value in EDGE_VALUES} <= seen_kinds


def test_nanosecond_times_and_nodeless_reports_come_out(edge_emulator: Emulator) -> None:
    run = sync(edge_emulator)
    flows = run.records["network_flow"]
    sent = list(edge_emulator.dataset.network_logs(TAILNET, START, END))
    assert len(flows) == len(sent) == len({r["flow_id"] for r in flows})
    nodeless = [entry for entry in sent if "nodeId" not in entry]
    assert nodeless, "the edge data should hold reports without nodeId"
    assert sum(1 for r in flows if r["nodeId"] is None) == len(nodeless)
    emitted = {(r["logged"], r["start"], r["end"]) for r in flows}
    assert emitted == {
        tuple(normalize_timestamp(e[field]) for field in ("logged", "start", "end")) for e in sent
    }
    nine_digits = [e["logged"] for e in sent if re.search(r"\.\d{9}Z$", e["logged"])]
    assert nine_digits, "the emulator should send nanosecond times"
    assert set(nine_digits) <= {r["logged"] for r in flows}
    extra = [r for r in flows if r["extra_fields"] is not None]
    assert extra
    assert all(loaded(r["extra_fields"])["futureField"]["score"] == 2**53 + 1 for r in extra)
    assert all(r["extra_fields"] is None for r in flows if r not in extra)


def test_configuration_times_keep_their_digits(edge_emulator: Emulator) -> None:
    records = sync(edge_emulator).records["configuration_audit"]
    sent = _sent_configuration(edge_emulator)
    for record in records:
        raw = sent[record["event_id"]]["eventTime"]
        assert record["eventTime"] == normalize_timestamp(raw)
        assert record["eventTime"].rstrip("Z").startswith(raw.rstrip("Z"))
