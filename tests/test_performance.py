"""The fast paths keep the output exact: schema-valid records, the SDK's bytes, same keys.

Timings live in scripts/bench.py (noisy, not part of the test run); these tests check
what the optimisations must not change.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ijson
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.encoding.simple import RecordMessage, StateMessage

from tailscale_emulator import TailnetConfig
from tap_tailscale.errors import BodyError, InvalidTimestampError
from tap_tailscale.logs import parsing
from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tap_tailscale.logs.parsing import iter_log_entries
from tap_tailscale.logs.records import JSON_DECODER
from tap_tailscale.output import FLUSH_BYTES, BufferedMsgSpecWriter
from tap_tailscale.tap import TapTailscale
from tap_tailscale.timeutil import format_timestamp, normalize_timestamp
from tests.conftest import NOW, fast_settings, run_tap

if TYPE_CHECKING:
    from collections.abc import Callable

    from tailscale_emulator import Emulator

STREAMS = ("configuration_audit", "network_flow", "admin_audit")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _format_checker() -> FormatChecker:
    # jsonschema checks date-time only with an optional package; check it here instead.
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _RFC3339.fullmatch(value):
            raise ValueError(f"not RFC 3339: {value!r}")
        datetime.fromisoformat(value)
        return True

    return checker


@pytest.fixture
def busy_emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    """Three hours of dense logs: most event types, and bodies of many blocks."""
    tailnet = TailnetConfig(
        config_event_interval_seconds=8,
        network_nodes=6,
        network_interval_seconds=60,
        traffic_items=5,
    )
    return make_emulator(
        dataset_start=NOW - timedelta(hours=3),
        dataset_end=NOW,
        tailnets={"example.com": tailnet},
    )


def test_every_record_is_valid_against_the_discovered_schema(
    busy_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks: list[int] = []
    decoder = JSON_DECODER  # the one parsing uses; the patch below replaces it there

    class CountingDecoder:
        def decode(self, data: bytes) -> Any:
            blocks.append(len(data))
            return decoder.decode(data)

    monkeypatch.setattr(parsing, "JSON_DECODER", CountingDecoder())
    settings = fast_settings(
        busy_emulator.url,
        start_date=format_timestamp(NOW - timedelta(hours=3)),
        end_date=format_timestamp(NOW),
    )
    catalog = TapTailscale(config=settings, parse_env_config=False).catalog_dict
    schemas = {entry["tap_stream_id"]: entry["schema"] for entry in catalog["streams"]}
    run = run_tap(settings)
    assert run.error is None
    checker = _format_checker()
    for stream in STREAMS:
        records = run.records[stream]
        assert len(records) > 1000, stream
        validator = Draft202012Validator(schemas[stream], format_checker=checker)
        for record in records:
            errors = list(validator.iter_errors(record))
            assert errors == [], (stream, record, errors[0].message)
    # The bodies were big enough for block decoding, not only the ijson tail.
    assert len(blocks) > 10


def test_deselected_properties_still_go_through_the_sdk(busy_emulator: Emulator) -> None:
    settings = fast_settings(
        busy_emulator.url,
        start_date=format_timestamp(NOW - timedelta(hours=1)),
        end_date=format_timestamp(NOW),
    )
    catalog = TapTailscale(config=settings, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == "network_flow"
            if item["breadcrumb"] == ["properties", "srcNode"]:
                item["metadata"]["selected"] = False
    output = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(output):
        TapTailscale(config=settings, catalog=catalog, parse_env_config=False).sync_all()
    output.seek(0)
    records = [m["record"] for m in map(json.loads, output) if m["type"] == "RECORD"]
    assert records
    assert all("srcNode" not in record and "dstNodes" in record for record in records)


# ---- the writer ------------------------------------------------------------------


def _captured(write: Callable[[], None]) -> bytes:
    output = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(output):
        write()
    output.flush()
    return bytes(output.buffer.getvalue())


def _record() -> dict[str, Any]:
    return {
        "event_id": "k",
        "old": {"n": Decimal("1.10"), "big": 2**64 - 1},
        "new": ["é", None, True],
        "eventTime": "2024-06-06T15:25:26.583893Z",
    }


def test_records_are_the_bytes_msgspec_writer_writes() -> None:
    moment = datetime(2024, 6, 6, 15, 25, 26, 583893, tzinfo=UTC)
    message = RecordMessage(stream="s", record=_record(), version=7, time_extracted=moment)
    expected = _captured(lambda: MsgSpecWriter().write_message(message))

    def buffered() -> None:
        writer = BufferedMsgSpecWriter()
        writer.write_message(message)
        writer.write_record("s", _record(), 7, moment)
        writer.flush()

    assert _captured(buffered) == expected * 2


def test_a_run_of_records_is_the_bytes_of_one_record_at_a_time() -> None:
    moment = datetime(2024, 6, 6, 15, 25, 26, 583893, tzinfo=UTC)
    message = RecordMessage(stream="s", record=_record(), version=7, time_extracted=moment)
    expected = _captured(lambda: MsgSpecWriter().write_message(message))
    counts: list[int] = []

    def buffered() -> None:
        writer = BufferedMsgSpecWriter()
        records = (_record() for _ in range(5))
        counts.extend(writer.write_records("s", 7, records, every=2, clock=lambda: moment))
        writer.flush()

    assert _captured(buffered) == expected * 5
    assert counts == [2, 2, 1]


def test_a_run_of_records_with_one_unencodable_leaves_no_partial_line() -> None:
    loop: list[Any] = []
    loop.append(loop)

    def write() -> None:
        writer = BufferedMsgSpecWriter()
        with pytest.raises(RecursionError):
            list(writer.write_records("s", None, [{"n": 1}, {"loop": loop}], every=10))
        writer.flush()

    lines = _captured(write).splitlines()
    assert [json.loads(line)["record"] for line in lines] == [{"n": 1}]


def test_records_wait_for_a_state_and_come_out_before_it() -> None:
    writer = BufferedMsgSpecWriter()
    moment = datetime.now(UTC)
    lines: list[bytes] = []

    def write() -> None:
        writer.write_record("s", {"n": 1}, None, moment)
        writer.write_record("s", {"n": 2}, None, moment)
        lines.append(_captured_so_far())
        writer.write_message(StateMessage(value={"bookmarks": {}}))

    output = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")

    def _captured_so_far() -> bytes:
        output.flush()
        return bytes(output.buffer.getvalue())

    with redirect_stdout(output):
        write()
    output.flush()
    assert lines == [b""]  # nothing visible before the STATE
    kinds = [json.loads(line)["type"] for line in output.buffer.getvalue().splitlines()]
    assert kinds == ["RECORD", "RECORD", "STATE"]


def test_a_full_buffer_is_written_without_waiting_for_a_state() -> None:
    writer = BufferedMsgSpecWriter()
    moment = datetime.now(UTC)
    big = {"blob": "x" * 1000}
    count = FLUSH_BYTES // 1000 + 1

    def write() -> None:
        for _ in range(count):
            writer.write_record("s", big, None, moment)

    written = _captured(write)
    # Whole lines went out once the buffer passed FLUSH_BYTES; the rest wait for a flush.
    assert FLUSH_BYTES <= len(written) < count * 1100
    assert written.endswith(b"\n")


def test_a_record_that_cannot_be_encoded_leaves_no_partial_line() -> None:
    writer = BufferedMsgSpecWriter()
    moment = datetime.now(UTC)

    def write() -> None:
        writer.write_record("s", {"n": 1}, None, moment)
        loop: list[Any] = []
        loop.append(loop)
        with pytest.raises(RecursionError):
            writer.write_record("s", {"n": 2, "loop": loop}, None, moment)
        writer.flush()

    lines = _captured(write).splitlines()
    assert [json.loads(line)["record"] for line in lines] == [{"n": 1}]


# ---- block decoding ----------------------------------------------------------------


def _ijson_only(body: bytes) -> tuple[list[Any], str | None]:
    """What a plain ijson stream of the body yields, and the error it ends with."""
    entries: list[Any] = []
    try:
        entries.extend(ijson.items(io.BytesIO(body), "logs.item"))
    except ijson.JSONError:
        return entries, "BodyError"
    return entries, None


def _blocks(body: bytes, raw: io.BytesIO | None = None) -> tuple[list[Any], str | None]:
    entries: list[Any] = []
    try:
        entries.extend(iter_log_entries(raw or io.BytesIO(body)))
    except BodyError as exc:
        return entries, type(exc).__name__
    return entries, None


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "BLOCK_BYTES", 97)


def _entry(i: int) -> dict[str, Any]:
    # Nested objects share the entries' first key: separators inside entries exist.
    return {
        "k": i,
        "text": 'a "},{"k": in text' if i % 3 else "é☃",
        "items": [{"k": j, "n": 2**64 - 1, "f": Decimal("1.10")} for j in range(i % 4)],
        "deep": {"k": [{"k": None}, {"k": [1, 2]}]},
    }


def _body(entries: list[dict[str, Any]], prefix: str = '{"logs":') -> bytes:
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False, default=str)
    return (prefix + text.replace('"1.10"', "1.10") + "}").encode()


@pytest.mark.usefixtures("small_blocks")
@pytest.mark.parametrize("prefix", ['{"logs":', '{"version":"1.1","tailnet":"x","logs":'])
def test_blocks_yield_what_ijson_yields(prefix: str) -> None:
    body = _body([_entry(i) for i in range(40)], prefix)
    assert _blocks(body) == _ijson_only(body)
    assert _blocks(body)[0][5]["items"][0]["f"] == Decimal("1.10")


@pytest.mark.usefixtures("small_blocks")
def test_blocks_stop_where_ijson_stops_on_a_cut_or_broken_body() -> None:
    body = _body([_entry(i) for i in range(30)])
    for cut in range(0, len(body), 37):
        assert _blocks(body[:cut]) == _ijson_only(body[:cut]), cut
    broken = body.replace(b'"k":7,', b'"k":7,,', 1)
    assert _blocks(broken) == _ijson_only(broken)
    bad_utf8 = body.replace("é".encode(), b"\xc3", 1)
    assert _blocks(bad_utf8) == _ijson_only(bad_utf8)


@pytest.mark.usefixtures("small_blocks")
def test_a_failed_read_comes_after_every_entry_before_it() -> None:
    body = _body([_entry(i) for i in range(30)])
    complete = _ijson_only(body)[0]

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > len(body) // 2:
                raise ConnectionResetError("cut")
            return super().read(size)

    entries, error = _blocks(body, Broken(body))
    assert error == "BodyError"
    assert entries == complete[: len(entries)]
    assert len(entries) >= len(_ijson_only(body[: len(body) // 2])[0])


# ---- keys and timestamps -----------------------------------------------------------


def test_keys_are_unchanged() -> None:
    # Digests from the first release: targets upsert on them.
    event = {
        "eventTime": "2026-11-20T00:00:02.314967Z",
        "type": "CONFIG",
        "deferredAt": "0001-01-01T00:00:00Z",
        "eventGroupID": "d85a2de15518b66c5f00bd63bd057c04",
        "origin": "NODE",
        "actor": {"id": "nH7vnMB9CNTRL", "type": "NODE"},
        "target": {"id": "example.com", "type": "TAILNET", "property": "MAGIC_DNS"},
        "action": "DISABLE",
        "old": True,
        "new": False,
        "error": "only the tailnet owner can transfer ownership",
    }
    assert configuration_event_id(event) == "114e640e233194c02f73c89adcb91b00"
    values = {
        "eventTime": "2026-11-20T00:00:02.3Z",
        "eventGroupID": "g",
        "action": "UPDATE",
        "origin": "ADMIN_CONSOLE",
        "actor": {"id": "u1"},
        "target": {"id": "t", "type": "ACL"},
        "old": {"b": [1, 2**70, Decimal("1.5")], "a": None},
        "new": ["tag:ci", "é"],
    }
    assert configuration_event_id(values) == "f80e7148b67209b7cea5f9671d2f1bf2"
    odd = {"eventTime": "2026-11-20T00:00:02Z", "actor": "alice", "old": 2**64, "new": -3}
    assert configuration_event_id(odd) == "b636c63a97286b5d9024fd17c1663eec"
    # Parts that are not text take the general join (digests from before it was split).
    numbers = {
        "eventTime": "2026-11-20T00:00:02Z",
        "eventGroupID": 7,
        "actor": {"id": 12},
        "target": {"type": None, "id": ["x"]},
        "error": False,
    }
    assert configuration_event_id(numbers) == "eeb37f8a165b5a4422cba9e7590079a3"
    not_text = {"eventTime": 5, "origin": True, "old": "", "new": {"z": Decimal("1.50")}}
    assert configuration_event_id(not_text) == "a0ab96059664f4adc0ad23e517df1c01"
    assert configuration_event_id({}) == "744fc596e5f7293b5dc0a4ebf8b1a4e3"
    flow = {
        "logged": "2026-11-20T00:00:00.022148Z",
        "nodeId": "n2uEZghyCNTRL",
        "start": "2026-11-19T23:59:54.799317902Z",
        "end": "2026-11-19T23:59:59.795592751Z",
    }
    assert network_flow_id(flow) == "d7c184386c97c2954dea969395abe70b"
    assert network_flow_id({"nodeId": "n"}) == "b31bff3e49999cafd26a28cfa87a6185"


@pytest.mark.parametrize(
    "bad",
    [
        "2024-06-06T15:25.26.12Z",  # minutes with a fraction: not RFC 3339
        "2024-06-06T15:25:26.58389\u0663Z",  # a non-ASCII digit
        "2024-06-06T24:00:00Z",
        "2023-02-29T00:00:00Z",
    ],
)
def test_only_real_rfc3339_timestamps_pass_the_fast_path(bad: str) -> None:
    with pytest.raises(InvalidTimestampError):
        normalize_timestamp(bad)


def test_years_below_1000_keep_four_digits() -> None:
    assert format_timestamp(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000000Z"
    assert normalize_timestamp("0999-12-31T23:59:59+00:00") == "0999-12-31T23:59:59.000000000Z"
