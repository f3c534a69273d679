"""Per-device streams, the streamed device list, and inventory on its own cadence."""

from __future__ import annotations

import io
import json
import logging
import threading
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tailscale_emulator import Credential, Emulator, TailnetConfig
from tap_tailscale.errors import RejectedEntryError
from tap_tailscale.inventory import invite_records, posture_record
from tap_tailscale.inventory.device_details import REDACTED, redact_invite_url
from tap_tailscale.logs.parsing import iter_log_entries
from tap_tailscale.streams import RunContext
from tap_tailscale.streams.ordered_pool import AdaptiveLimit, fan_out
from tap_tailscale.tap import TapTailscale
from tests.conftest import DEMO_KEY, fast_settings, run_tap

if TYPE_CHECKING:
    from collections.abc import Callable

TAILNET = "example.com"
PER_DEVICE = ("device_posture", "device_invites")
SYNCED = "2026-01-02T03:04:05Z"


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


# ---- The streams against the emulator ----------------------------------------------


def test_per_device_records_equal_the_emulators_answers(make_emulator: Any) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=40)})
    run = run_tap(fast_settings(emulator.url, per_device_concurrency=3), streams=PER_DEVICE)
    assert run.error is None, run.stderr[-2000:]
    dataset = emulator.dataset
    devices = dataset.devices(TAILNET)
    assert len(devices) == 40
    posture = run.records["device_posture"]
    # One record per device, in list order, each equal to the API's answer.
    assert [r["nodeId"] for r in posture] == [d["nodeId"] for d in devices]
    for record in posture:
        sent = dataset.device_attributes(TAILNET, record["nodeId"])
        assert json.loads(record["attributes"]) == sent["attributes"]
        assert json.loads(record["expiries"]) == sent["expiries"]
        assert record["tailnet"] == TAILNET
    assert len({r["synced_at"] for r in posture}) == 1
    invites = run.records["device_invites"]
    expected = [
        (d["nodeId"], invite)
        for d in devices
        for invite in dataset.device_invites(TAILNET, d["nodeId"]) or []
    ]
    assert invites
    assert len(invites) == len(expected)
    for record, (node_id, sent) in zip(invites, expected, strict=True):
        assert record["nodeId"] == node_id
        assert record["id"] == sent["id"]
        assert record["deviceId"] == sent["deviceId"]
        assert record["acceptedBy"] == sent.get("acceptedBy")
        assert record["inviteUrl"] == sent["inviteUrl"].rsplit("/", 1)[0] + "/" + REDACTED
        assert sent["inviteUrl"] not in json.dumps(run.messages)


def test_a_missing_scope_skips_each_stream_with_one_warning(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=30)})
    caplog.set_level(logging.WARNING)
    for stream, scope in (
        ("device_posture", "devices:posture_attributes:read"),
        ("device_invites", "device_invites:read"),
    ):
        caplog.clear()
        emulator.config.denied_scopes = (scope,)
        run = run_tap(fast_settings(emulator.url), streams=PER_DEVICE)
        assert run.error is None, run.stderr[-2000:]
        assert stream not in run.records
        other = next(s for s in PER_DEVICE if s != stream)
        assert other in run.records
        warnings = [m for m in _messages(caplog) if stream in m and scope in m]
        assert len(warnings) == 1, warnings  # one warning names each missing scope
        summary = next(m for m in _messages(caplog) if m.startswith("Skipped"))
        assert f"{stream} [tailnet -]" in summary
        refused = [r for r in emulator.requests if r.status == 403]
        assert len(refused) == 1  # the first device only, not one per device
        emulator.requests.clear()


def test_one_failing_device_is_counted_and_the_others_are_read(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=20)})
    devices = emulator.dataset.devices(TAILNET)
    broken = devices[7]["nodeId"]
    original = emulator.dataset.device_attributes

    def attributes(tailnet: str, device_id: str) -> Any:
        return None if device_id == broken else original(tailnet, device_id)

    emulator.dataset.device_attributes = attributes  # answers 404 Device not found
    caplog.set_level(logging.INFO)
    settings = fast_settings(emulator.url, inventory_interval_seconds=3600)
    run = run_tap(settings, streams=("device_posture",))
    assert run.error is None, run.stderr[-2000:]
    read = [r["nodeId"] for r in run.records["device_posture"]]
    assert read == [d["nodeId"] for d in devices if d["nodeId"] != broken]
    messages = _messages(caplog)
    assert any(f"device {broken} could not be read" in m for m in messages)
    assert any("1 of 20 devices could not be read" in m for m in messages)
    assert any("20 of 20 devices read, 1 failed" in m for m in messages)
    # A partial snapshot is not marked fresh: the next run asks every device again.
    assert "last_snapshot_at" not in json.dumps(run.states)


def test_a_missing_devices_scope_skips_the_per_device_streams(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator()
    emulator.config.api_keys["no-devices"] = Credential(
        scopes=("devices:posture_attributes:read", "device_invites:read")
    )
    caplog.set_level(logging.WARNING)
    run = run_tap(fast_settings(emulator.url, api_key="no-devices"), streams=PER_DEVICE)
    assert run.error is None
    assert not run.records
    messages = _messages(caplog)
    # One cause, one warning; the summary names both streams it skipped.
    assert sum("devices:core:read" in m for m in messages) == 1
    summary = next(m for m in messages if m.startswith("Skipped"))
    assert all(f"{stream} [tailnet -]" in summary for stream in PER_DEVICE)


# ---- Bounded concurrency -------------------------------------------------------------


def test_fan_out_keeps_order_bounds_concurrency_and_returns_failures() -> None:
    limit = AdaptiveLimit(3)
    busy, peak = [0], [0]
    lock = threading.Lock()

    def work(key: int) -> int:
        with lock:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        try:
            if key == 5:
                raise ValueError("five")
            return key * 10
        finally:
            with lock:
                busy[0] -= 1

    answers = list(fan_out(range(40), work, limit, workers=6))
    assert [key for key, _ in answers] == list(range(40))
    assert isinstance(answers[5][1], ValueError)
    assert [a for k, a in answers if k != 5] == [k * 10 for k in range(40) if k != 5]
    assert peak[0] <= 3


def test_a_429_halves_the_limit_down_to_one() -> None:
    limit = AdaptiveLimit(8)
    assert [limit.throttled() for _ in range(4)] == [4, 2, 1, None]
    assert limit.limit == 1


def test_fan_out_holds_few_answers_however_many_keys() -> None:
    taken = []

    def keys() -> Any:
        for key in range(1000):
            taken.append(key)
            yield key

    answers = fan_out(keys(), lambda key: key, AdaptiveLimit(2), workers=2)
    assert next(answers) == (0, 0)
    assert len(taken) <= 5  # two answers per worker wait, no more
    answers.close()


def test_429s_lower_the_concurrency(make_emulator: Any, caplog: pytest.LogCaptureFixture) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=12)})
    original = emulator.dataset.device_attributes
    seen: set[str] = set()
    lock = threading.Lock()

    def attributes(tailnet: str, device_id: str) -> Any:
        with lock:
            first = device_id not in seen
            seen.add(device_id)
        if first and len(seen) > 1:
            raise Reject429
        return original(tailnet, device_id)

    emulator.dataset.device_attributes = attributes
    caplog.set_level(logging.INFO)
    settings = fast_settings(emulator.url, per_device_concurrency=8, max_attempts=3)
    run = run_tap(settings, streams=("device_posture",))
    assert run.error is None, run.stderr[-2000:]
    assert len(run.records["device_posture"]) == 12
    assert any("rate limited (HTTP 429); 4 requests at once" in m for m in _messages(caplog))


class Reject429(Exception):  # noqa: N818 - raised into the emulator's handler
    pass


@pytest.fixture(autouse=True)
def _emulator_429(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a dataset override answer 429 by raising Reject429."""
    from tailscale_emulator.access import Reject  # noqa: PLC0415 - test-only seam
    from tailscale_emulator.inventory_routes import InventoryMixin  # noqa: PLC0415

    serve = InventoryMixin._serve_device

    def serve_device(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            serve(self, *args, **kwargs)
        except Reject429:
            raise Reject(429, "rate limited") from None

    monkeypatch.setattr(InventoryMixin, "_serve_device", serve_device)


# ---- Shaping -------------------------------------------------------------------------


def test_posture_record_keeps_the_answer_as_sent() -> None:
    body = {
        "attributes": {"node:os": "linux", "custom:score": 7.50, "custom:big": 2**70},
        "expiries": {"custom:score": "2026-01-01T00:00:00Z"},
        "newField": 1,
    }
    record = posture_record(body, "nA", "t", SYNCED)
    assert json.loads(record["attributes"]) == body["attributes"]
    assert json.loads(record["expiries"]) == body["expiries"]
    assert json.loads(record["extra_fields"]) == {"newField": 1}
    with pytest.raises(RejectedEntryError):
        posture_record({"attributes": ["not", "an", "object"]}, "nA", "t", SYNCED)
    with pytest.raises(RejectedEntryError):
        posture_record([], "nA", "t", SYNCED)


def test_invite_links_lose_their_token_and_null_means_none() -> None:
    url = "https://login.tailscale.com/admin/invite/AbCdEf123?x=secret#frag"
    assert redact_invite_url(url) == f"https://login.tailscale.com/admin/invite/{REDACTED}"
    assert redact_invite_url("") == ""  # as sent: nothing to hide
    assert invite_records(None, "nA", "t", SYNCED) == []
    invite = {"id": "1", "inviteUrl": url, "secret": "tskey-x", "extra": "tskey-abc"}
    (record,) = invite_records([invite], "nA", "t", SYNCED)
    assert "AbCdEf123" not in json.dumps(record)
    assert "tskey-" not in json.dumps(record)
    with pytest.raises(RejectedEntryError):
        invite_records({"id": "1"}, "nA", "t", SYNCED)


def test_the_device_list_streams_from_any_array_name() -> None:
    body = b'{"devices":[{"nodeId":"a"},{"nodeId":"b","x":[{"nodeId":"c"}]}],"more":1}'
    found = list(iter_log_entries(io.BytesIO(body), array="devices"))
    assert [d["nodeId"] for d in found] == ["a", "b"]
    assert list(iter_log_entries(io.BytesIO(b"{}"), array="devices", optional=True)) == []


# ---- The emulator --------------------------------------------------------------------


def test_emulator_streams_a_large_device_list_and_finds_devices_by_id(make_emulator: Any) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=3000)})
    auth = {"Authorization": f"Bearer {DEMO_KEY}"}
    answer = requests.get(f"{emulator.url}/api/v2/tailnet/-/devices", headers=auth, timeout=30)
    assert answer.headers.get("Transfer-Encoding") == "chunked"
    devices = answer.json()["devices"]
    assert len(devices) == len({d["nodeId"] for d in devices}) == 3000
    last = devices[-2]  # an own device beyond any reporting node
    for device_id in (last["nodeId"], last["id"]):
        url = f"{emulator.url}/api/v2/device/{device_id}/attributes"
        body = requests.get(url, headers=auth, timeout=5).json()
        assert body == emulator.dataset.device_attributes(TAILNET, last["nodeId"])
    missing = requests.get(f"{emulator.url}/api/v2/device/nNope/device-invites", headers=auth)
    assert (missing.status_code, missing.json()) == (404, {"message": "Device not found"})
    emulator.config.denied_scopes = ("device_invites:read",)
    url = f"{emulator.url}/api/v2/device/{last['nodeId']}/device-invites"
    refused = requests.get(url, headers=auth, timeout=5)
    # As live: a 403 that names no scope (the tap names the one the stream declares).
    assert refused.status_code == 403
    assert "device_invites:read" not in refused.json()["message"]


# ---- Cadence -------------------------------------------------------------------------


def _clocked_tap(clock: Callable[[], datetime]) -> type[TapTailscale]:
    class ClockedTap(TapTailscale):
        # The run context is frozen: the clock is given when it is built.
        @cached_property
        def run(self) -> RunContext:
            return replace(super().run, wall_clock=clock)

    return ClockedTap


def _run_at(
    config: dict[str, Any], state: dict[str, Any] | None, clock: Callable[[], datetime]
) -> tuple[list[dict[str, Any]], TapTailscale]:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(stdout):
        tap = _clocked_tap(clock)(config=config, state=state, parse_env_config=False)
        for name, stream in tap.streams.items():
            stream.selected = name in {"devices", "users", "device_posture"}
        tap.sync_all()
    stdout.seek(0)
    return [json.loads(line) for line in stdout.read().splitlines() if line.strip()], tap


def test_a_second_run_within_the_interval_skips_fresh_snapshots(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    # The mark is the snapshot's own time (the API's Date), so the clock starts at now.
    start = datetime.now(UTC)
    now = [start]
    config = fast_settings(
        emulator.url, inventory_interval_seconds=3600, inventory_intervals={"users": 60}
    )
    caplog.set_level(logging.INFO)

    def sync() -> tuple[set[str], dict[str, Any], str]:
        caplog.clear()
        messages, _ = _run_at(config, state, lambda: now[0])
        streams = {m["stream"] for m in messages if m["type"] == "RECORD"}
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        summary = next(m for m in _messages(caplog) if m.startswith("Run summary"))
        return streams, states[-1] if states else state, summary

    state: dict[str, Any] = {}
    streams, state, summary = sync()
    assert streams == {"devices", "users", "device_posture"}
    assert "still fresh" not in summary
    taken = state["bookmarks"]["devices"]["partitions"][0]["last_snapshot_at"]
    assert abs(datetime.fromisoformat(taken[:26]).replace(tzinfo=UTC) - start) < timedelta(
        minutes=5
    )
    now[0] = start + timedelta(minutes=30)
    streams, state, summary = sync()
    assert streams == {"users"}  # its own interval (60 s) has passed
    assert "Snapshots still fresh, not taken again: " in summary
    assert f"devices [tailnet -] (taken {taken}, next after" in summary
    assert "device_posture [tailnet -] (taken" in summary
    assert "users [tailnet" not in summary
    now[0] = start + timedelta(hours=1, minutes=5)
    streams, state, summary = sync()
    assert streams == {"devices", "users", "device_posture"}
    assert "still fresh" not in summary


def test_a_failed_snapshot_is_not_marked_fresh(make_emulator: Any) -> None:
    emulator = make_emulator()
    emulator.config.denied_scopes = ("devices:core:read",)
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    config = fast_settings(emulator.url, inventory_interval_seconds=3600)
    messages, _ = _run_at(config, None, lambda: moment)
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    devices_state = states[-1]["bookmarks"].get("devices", {}) if states else {}
    assert "last_snapshot_at" not in json.dumps(devices_state)
    assert "last_snapshot_at" in json.dumps(states[-1]["bookmarks"]["users"])


def test_inventory_devices_flag_sets_the_total() -> None:
    from tailscale_emulator.cli import _parser, build_config  # noqa: PLC0415 - private parser

    config = build_config(_parser().parse_args(["--inventory-devices", "3000", "--nodes", "5"]))
    (tailnet,) = config.tailnets.values()
    assert tailnet.inventory_devices == 3000
    emulator = Emulator(config)
    ids = [d["nodeId"] for d in emulator.dataset.iter_devices(next(iter(config.tailnets)))]
    # Shared-in devices are numbered past every own device: no id is listed twice.
    assert len(ids) == len(set(ids)) == 3000


def test_the_device_list_is_read_once_for_enrichment_and_the_devices_stream(
    make_emulator: Any,
) -> None:
    emulator = make_emulator(tailnets={TAILNET: TailnetConfig(inventory_devices=300)})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    window = {"start_date": (now - timedelta(hours=2)).isoformat(), "end_date": now.isoformat()}
    streams = ("network_connection", "devices", "device_posture")
    run = run_tap(fast_settings(emulator.url, **window), streams=streams)
    assert run.error is None, run.stderr[-2000:]
    lists = [r for r in emulator.requests if r.path.endswith("/devices")]
    assert len(lists) == 1
    devices = emulator.dataset.devices(TAILNET)
    assert [r["nodeId"] for r in run.records["devices"]] == [d["nodeId"] for d in devices]
    assert len(run.records["device_posture"]) == 300
    assert any(r.get("peer_name") for r in run.records["network_connection"])


def test_no_invite_link_reaches_a_recording(emulator: Emulator, tmp_path: Any) -> None:
    config = fast_settings(emulator.url, record_dir=str(tmp_path))
    run = run_tap(config, streams=("device_invites",))
    assert run.error is None
    sent = [
        invite["inviteUrl"]
        for device in emulator.dataset.devices(TAILNET)
        for invite in emulator.dataset.device_invites(TAILNET, device["nodeId"]) or []
    ]
    assert sent
    recorded = "".join(path.read_text(errors="replace") for path in tmp_path.iterdir())
    assert "inviteUrl" in recorded
    for url in sent:
        assert url.rsplit("/", 1)[1] not in recorded
    replayed = run_tap(
        fast_settings(emulator.url, replay_dir=str(tmp_path)), streams=("device_invites",)
    )
    assert replayed.records == run.records


def test_a_list_kept_for_a_fresh_devices_stream_is_closed(emulator: Emulator) -> None:
    # device_posture syncs first, reads the device list and keeps the body for `devices`;
    # on the second run `devices` is still fresh and never reads it.
    config = fast_settings(emulator.url, inventory_intervals={"devices": 3600})
    kept: list[Any] = []

    def sync(state: dict[str, Any]) -> dict[str, Any]:
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        with redirect_stdout(stdout):
            tap = TapTailscale(config=config, state=state, parse_env_config=False)
            for name, stream in tap.streams.items():
                stream.selected = name in {"devices", "device_posture"}
            devices = tap.run.devices
            keep_body = devices.keep_body

            def keeping(tailnet: str, synced_at: str, spool: Any) -> None:
                kept.append(spool)
                keep_body(tailnet, synced_at, spool)

            devices.keep_body = keeping  # type: ignore[method-assign]
            tap.sync_all()
        stdout.seek(0)
        states = [m for m in map(json.loads, stdout) if m["type"] == "STATE"]
        assert tap.run.devices.take_body("example.com") is None
        return dict(states[-1]["value"])

    state = sync({})
    assert kept, "the first run kept the list for devices"
    assert kept[0].closed  # read by devices, then closed
    sync(state)
    assert len(kept) == 2, "the second run kept it again"
    assert kept[1].closed, "and closed it although devices did not read it"
