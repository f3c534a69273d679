"""End to end: Meltano runs tap-tailscale into a real PostgreSQL and into JSONL.

The emulator serves one day of logs for `example.com` (a configuration event every 30
minutes, three nodes reporting network flows every 10 minutes). Every run uses explicit
`start_date`/`end_date` at instants where no event exists, so the rows a table must hold
are exactly the emulator's distinct events in the range, whichever way a bound is read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tailscale_emulator import DEFAULT_API_KEY, Emulator, EmulatorConfig, FaultPlan, TailnetConfig
from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tap_tailscale.tap import TapTailscale
from tap_tailscale.timeutil import format_timestamp
from tests.e2e.conftest import MeltanoProject, Postgres, schema_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

TAILNET = "example.com"
CONFIG_INTERVAL = 1800
NETWORK_INTERVAL = 600
NODES = 3
OVERLAP = 3600
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
STREAM_KEYS = {
    "configuration_audit": "event_id",
    "admin_audit": "event_id",
    "network_flow": "flow_id",
}


def quiet_instant(after: datetime) -> datetime:
    """The first instant at or after `after` where the emulator places no event.

    Configuration events fall in the first 80% of each 30-minute slot and each of the
    three nodes reports in the first half of its 200-second share of a 10-minute period,
    so seconds-since-epoch = 1575 (mod 1800) is clear of both.
    """
    epoch = int(after.timestamp())
    offset = (1575 - epoch) % CONFIG_INTERVAL
    return datetime.fromtimestamp(epoch + offset, tz=UTC)


START = quiet_instant(NOW - timedelta(days=1) + timedelta(minutes=1))
MIDDLE = START + timedelta(hours=12)
END = START + timedelta(hours=20)
assert END < NOW


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bookmark(moment: datetime) -> str:
    """How the tap writes a time bookmark."""
    return format_timestamp(moment)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        dataset_start=NOW - timedelta(days=1),
        dataset_end=NOW,
        tailnets={
            TAILNET: TailnetConfig(
                config_event_interval_seconds=CONFIG_INTERVAL,
                network_nodes=NODES,
                network_interval_seconds=NETWORK_INTERVAL,
            )
        },
    )
    with Emulator(config) as running:
        yield running


def expected(emulator: Emulator, stream: str, start: datetime, end: datetime) -> set[str]:
    """Distinct keys the emulator holds for a stream in [start, end]."""
    if stream == "network_flow":
        return {network_flow_id(e) for e in emulator.dataset.network_logs(TAILNET, start, end)}
    events = emulator.dataset.configuration_events(TAILNET, start, end)
    return {configuration_event_id(e) for e in events}


def tap_env(emulator: Emulator, end: datetime, **settings: str) -> dict[str, str]:
    """Tap settings as Meltano environment variables (TAP_TAILSCALE_<SETTING>)."""
    env = {
        "TAP_TAILSCALE_API_URL": emulator.url,
        "TAP_TAILSCALE_API_KEY": DEFAULT_API_KEY,
        "TAP_TAILSCALE_START_DATE": rfc3339(START),
        "TAP_TAILSCALE_END_DATE": rfc3339(end),
        "TAP_TAILSCALE_LAG_SECONDS": "0",
        "TAP_TAILSCALE_OVERLAP_SECONDS": str(OVERLAP),
        "TAP_TAILSCALE_CONFIGURATION_WINDOW_SECONDS": "21600",
        "TAP_TAILSCALE_NETWORK_WINDOW_SECONDS": "7200",
        "TAP_TAILSCALE_INITIAL_BACKOFF_SECONDS": "0",
        "TAP_TAILSCALE_MAX_BACKOFF_SECONDS": "0",
        "TAP_TAILSCALE_REQUEST_TIMEOUT_SECONDS": "5",
    }
    env.update({f"TAP_TAILSCALE_{name.upper()}": value for name, value in settings.items()})
    return env


def assert_tables_match(
    postgres: Postgres, schema: str, emulator: Emulator, end: datetime
) -> dict[str, int]:
    """Each table holds exactly the emulator's distinct events in [START, end], once."""
    found = postgres.key_lists(schema, STREAM_KEYS)
    for stream, keys in found.items():
        assert len(keys) == len(set(keys)), f"{stream}: duplicate keys"
        assert set(keys) == expected(emulator, stream, START, end), f"{stream}: keys differ"
    return {stream: len(keys) for stream, keys in found.items()}


def partitions(state: dict, stream: str) -> dict[str, str]:
    """{tailnet: bookmark} of one stream in a Meltano state payload."""
    entry = state["singer_state"]["bookmarks"][stream]
    return {p["context"]["tailnet"]: p["replication_key_value"] for p in entry["partitions"]}


def last_batched_at(postgres: Postgres, schema: str) -> dict[str, str]:
    """The newest `_sdc_batched_at` (the target's load time) of each table."""
    results = postgres.run(
        *(
            (None, f'SELECT max(_sdc_batched_at)::text FROM "{schema}"."{table}"')
            for table in STREAM_KEYS
        )
    )
    return {table: rows[0][0] for table, rows in zip(STREAM_KEYS, results, strict=True) if rows}


def keys_written_after(postgres: Postgres, schema: str, since: dict[str, str]) -> dict:
    """Per table, the keys of rows the target wrote (inserted or updated) after `since`."""
    results = postgres.run(
        *(
            (
                None,
                f'SELECT "{STREAM_KEYS[table]}" FROM "{schema}"."{table}" '
                f"WHERE _sdc_batched_at > '{moment}'",
            )
            for table, moment in since.items()
        )
    )
    return {
        table: {row[0] for row in rows or []} for table, rows in zip(since, results, strict=True)
    }


# ------------------------------------------------------------------------------ tests


def test_discover_needs_no_credentials(meltano_project: MeltanoProject) -> None:
    result = meltano_project.meltano("invoke", "tap-tailscale", "--discover")
    catalog = json.loads(result.stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert set(streams) == set(TapTailscale(config={}, parse_env_config=False).streams)
    for name, key in STREAM_KEYS.items():
        assert streams[name]["key_properties"] == [key]


def test_connection_tests_pass_against_the_emulator(
    meltano_project: MeltanoProject, emulator: Emulator
) -> None:
    env = tap_env(emulator, END)
    result = meltano_project.meltano("config", "test", "tap-tailscale", env=env)
    assert "Plugin configuration is valid" in result.stdout + result.stderr
    # The tap's own per-stream check, through Meltano (config and catalog passed along).
    result = meltano_project.meltano("invoke", "tap-tailscale", "--test", env=env)
    output = result.stdout + result.stderr
    for stream in STREAM_KEYS:
        assert stream in output, f"--test did not report {stream}:\n{output}"


def _snapshot_marks(state: dict[str, Any]) -> dict[str, str]:
    """Each inventory stream's `last_snapshot_at` (tailnet `-`)."""
    return {
        stream: partition["last_snapshot_at"]
        for stream, entry in state["singer_state"]["bookmarks"].items()
        for partition in entry.get("partitions", [])
        if "last_snapshot_at" in partition
    }


def _without_snapshot_marks(state: dict[str, Any]) -> dict[str, Any]:
    """The state with every `last_snapshot_at` left out."""
    copied = json.loads(json.dumps(state))
    for entry in copied["singer_state"]["bookmarks"].values():
        for partition in entry.get("partitions", []):
            partition.pop("last_snapshot_at", None)
    return dict(copied)


def test_runs_upsert_overlaps_resume_from_state_and_add_nothing_when_idle(
    meltano_project: MeltanoProject, postgres: Postgres, emulator: Emulator
) -> None:
    schema = f"{schema_prefix()}main"
    state_id = "dev:tap-tailscale-to-target-postgres:main"
    run = ("--environment=dev", "run", "--state-id-suffix=main", "tap-tailscale", "target-postgres")
    target = {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}

    # 1. First run: START to MIDDLE.
    meltano_project.meltano(*run, env={**tap_env(emulator, MIDDLE), **target})
    first = assert_tables_match(postgres, schema, emulator, MIDDLE)
    assert all(first.values()), first
    state = meltano_project.state(state_id)
    assert partitions(state, "configuration_audit") == {"-": bookmark(MIDDLE)}
    assert partitions(state, "network_flow") == {"-": bookmark(MIDDLE)}
    assert set(partitions(state, "admin_audit")) == {"-"}
    before = last_batched_at(postgres, schema)

    # 2. Resume to END. Each stream re-reads OVERLAP seconds before its bookmark; the
    # re-read rows are updated in place (upsert by key), not added again.
    meltano_project.meltano(*run, env={**tap_env(emulator, END), **target})
    second = assert_tables_match(postgres, schema, emulator, END)
    assert second["configuration_audit"] > first["configuration_audit"]
    resumed = MIDDLE - timedelta(seconds=OVERLAP)
    rewritten = keys_written_after(postgres, schema, before)
    for table in ("configuration_audit", "network_flow"):
        assert rewritten[table] == expected(emulator, table, resumed, END), table
        assert expected(emulator, table, resumed, MIDDLE), f"{table}: the overlap held nothing"
    # admin_audit's cursor bookmark emits each event once, overlap or not.
    assert rewritten["admin_audit"] == expected(emulator, "admin_audit", MIDDLE, END)
    state = meltano_project.state(state_id)
    assert partitions(state, "configuration_audit") == {"-": bookmark(END)}
    assert partitions(state, "network_flow") == {"-": bookmark(END)}

    # 3. Nothing new upstream: the run adds no rows and leaves the bookmarks alone.
    meltano_project.meltano(*run, env={**tap_env(emulator, END), **target})
    assert assert_tables_match(postgres, schema, emulator, END) == second
    idle = meltano_project.state(state_id)
    # Only the inventory's snapshot marks move: each run takes a new snapshot.
    assert _without_snapshot_marks(idle) == _without_snapshot_marks(state)
    before, after = _snapshot_marks(state), _snapshot_marks(idle)
    assert after.keys() == before.keys() >= {"devices", "users"}
    assert all(after[stream] >= taken for stream, taken in before.items())
    assert state_id in meltano_project.state_ids()


def test_faulted_runs_recover_to_exact_counts(
    meltano_project: MeltanoProject, postgres: Postgres, emulator: Emulator
) -> None:
    schema = f"{schema_prefix()}faults"
    state_id = "dev:tap-tailscale-to-target-postgres:faults"
    run = (
        "--environment=dev",
        "run",
        "--state-id-suffix=faults",
        "tap-tailscale",
        "target-postgres",
    )
    target = {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}
    try:
        # 1. Every network request fails: network_flow's circuit breaker opens, the
        # configuration streams finish, and the run fails.
        emulator.config.faults = FaultPlan(rate=1.0, kinds=("503",), paths=("logging/network",))
        env = tap_env(emulator, MIDDLE, max_attempts="2")
        failed = meltano_project.meltano(*run, env={**env, **target}, check=False)
        assert failed.returncode != 0
        assert "network_flow" in failed.stderr
        found = postgres.key_lists(schema, STREAM_KEYS)
        for stream in ("configuration_audit", "admin_audit"):
            keys = found[stream]
            assert len(keys) == len(set(keys)), stream
            assert set(keys) == expected(emulator, stream, START, MIDDLE), stream
        assert found["network_flow"] == []

        # 2. Resets, truncated bodies, 503s and broken JSON, each retried away.
        emulator.config.faults = FaultPlan(
            first_n=8, kinds=("reset", "truncated", "503", "bad-json")
        )
        emulator.reset_log()
        # Eight failures in a row land on one window: its budget must be larger.
        env = tap_env(emulator, MIDDLE, max_attempts="10")
        meltano_project.meltano(*run, env={**env, **target})
        injected = [r.fault for r in emulator.logging_requests if r.fault]
        assert len(injected) == 8, injected
        assert_tables_match(postgres, schema, emulator, MIDDLE)
    finally:
        emulator.config.faults = None

    # 3. A clean run on to END: exact counts, no duplicates.
    meltano_project.meltano(*run, env={**tap_env(emulator, END), **target})
    assert_tables_match(postgres, schema, emulator, END)
    state = meltano_project.state(state_id)
    for stream in STREAM_KEYS:
        assert set(partitions(state, stream)) == {"-"}, stream


def test_stream_maps_drop_old_and_new_and_flatten(
    meltano_project: MeltanoProject, postgres: Postgres, emulator: Emulator
) -> None:
    schema = f"{schema_prefix()}slim"
    env = {**tap_env(emulator, MIDDLE), "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}
    meltano_project.meltano(
        "--environment=dev", "run", "tap-tailscale--slim", "target-postgres", env=env
    )
    assert_tables_match(postgres, schema, emulator, MIDDLE)
    for table in ("configuration_audit", "admin_audit"):
        columns = set(postgres.column_types(schema, table))
        assert not columns & {"old", "new", "actor", "target"}, sorted(columns)
        assert {"event_id", "actor__id", "target__id"} <= columns, sorted(columns)
    flows = postgres.column_types(schema, "network_flow")
    assert "srcNode" not in flows
    assert flows["srcNode__nodeId"] == "text", flows
    # Arrays are not flattened; they arrive as JSON text.
    assert flows["virtualTraffic"] == "text", flows
    ((with_actor,),) = postgres.query(
        f'SELECT count(*) FROM "{schema}"."configuration_audit" WHERE actor__id IS NOT NULL'
    )
    assert with_actor > 0
    ((traffic,),) = postgres.query(
        f'SELECT "virtualTraffic" FROM "{schema}"."network_flow" '
        'WHERE "virtualTraffic" IS NOT NULL LIMIT 1'
    )
    assert isinstance(json.loads(traffic), list)


def test_schedules_and_jobs_are_valid(meltano_project: MeltanoProject) -> None:
    listed = meltano_project.meltano("schedule", "list", "--format=json")
    schedules = {s["name"]: s for s in json.loads(listed.stdout)["schedules"]["job"]}
    assert schedules["tailscale-config-hourly"]["interval"] == "@hourly"
    assert schedules["tailscale-network-every-15-minutes"]["interval"] == "*/15 * * * *"
    for job in ("tailscale-config-to-postgres", "tailscale-network-to-postgres"):
        meltano_project.meltano("--environment=prod", "run", "--dry-run", job)


def test_state_id_suffix_keeps_pipelines_apart(
    meltano_project: MeltanoProject, emulator: Emulator
) -> None:
    # Two network-only pipelines, one per tailnet name ("-" and "example.com" are the
    # same emulated tailnet), each with its own state ID and bookmark.
    run = ("--environment=dev", "run", "tap-tailscale--network", "target-jsonl")
    meltano_project.meltano(
        *run[:2], "--state-id-suffix=self", *run[2:], env=tap_env(emulator, MIDDLE, tailnet="-")
    )
    meltano_project.meltano(
        *run[:2], "--state-id-suffix=example", *run[2:], env=tap_env(emulator, END, tailnet=TAILNET)
    )
    ids = meltano_project.state_ids()
    first = "dev:tap-tailscale--network-to-target-jsonl:self"
    second = "dev:tap-tailscale--network-to-target-jsonl:example"
    assert {first, second} <= set(ids), ids
    one, two = meltano_project.state(first), meltano_project.state(second)
    assert set(one["singer_state"]["bookmarks"]) == {"network_flow", "network_connection"}
    assert partitions(one, "network_flow") == {"-": bookmark(MIDDLE)}
    assert partitions(two, "network_flow") == {TAILNET: bookmark(END)}
    lines = (meltano_project.root / "output" / "network_flow.jsonl").read_text().splitlines()
    assert len(lines) == len(expected(emulator, "network_flow", START, MIDDLE)) + len(
        expected(emulator, "network_flow", START, END)
    )
