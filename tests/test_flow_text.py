"""network_flow's traffic arrays kept as the API's own text (records.FlowEntry).

The fast path must write the records the dict path writes, reject what it rejects with
the same reason and key, refuse every block it cannot carry as text, and be chosen only
where records go straight to the tap's msgspec writer.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from singer_sdk.contrib.msgspec import encoder

from tailscale_emulator import Emulator
from tap_tailscale.errors import RejectedEntryError
from tap_tailscale.logs.parsing import BlockDecoder, iter_log_entries
from tap_tailscale.logs.records import FlowEntry, decode_flow_block, network_record
from tap_tailscale.streams import log_streams as streams
from tap_tailscale.streams.log_streams import NetworkFlowStream
from tests.conftest import NOW, fast_settings, run_tap
from tests.test_records import BAD_FLOW_VALUES

REFERENCE = Path(__file__).parent / "data"


def _examples() -> list[dict[str, Any]]:
    body = json.loads((REFERENCE / "example-network.json").read_text())
    return [entry for entry in body["logs"] if entry.get("nodeId")]


def _varied_entries() -> list[dict[str, Any]]:
    """Entries the fast path takes, with every value form the records must keep."""
    first, *rest = _examples()
    traffic = first["virtualTraffic"]
    return [
        first,
        *rest,
        dict(first, logged="2027-05-11T10:05:40Z", start=None, end="0001-01-01T00:00:00Z"),
        dict(first, virtualTraffic=[dict(traffic[0], txBytes=2**64 - 1, proto="udp")]),
        dict(first, subnetTraffic=None, exitTraffic=[], physicalTraffic=None),
        dict(first, virtualTraffic=[dict(traffic[0], rate=Decimal("1.50"), n=2**70)]),
        dict(
            first,
            srcNode={"nodeId": "n1", "addresses": ["100.64.0.1"], "weight": Decimal("0.1")},
            dstNodes=[{"nodeId": "n2"}, None],
        ),
    ]


_BODY_ENCODER = msgspec.json.Encoder(decimal_format="number")


def _body(entries: list[Any]) -> bytes:
    """A compact body, as the API writes it (Decimal as the digits it holds)."""
    return _BODY_ENCODER.encode({"logs": entries})


def _written(body: bytes, decoder: BlockDecoder | None) -> list[Any]:
    """Each entry as the line the writer would write (parsed back), or its rejection."""
    written: list[Any] = []
    for entry in iter_log_entries(io.BytesIO(body), block_decoder=decoder):
        try:
            record = network_record(entry, "example.com")
        except RejectedEntryError as exc:
            written.append(("rejected", exc.reason, exc.key))
        else:
            written.append(json.loads(encoder.encode(record)))
    return written


def _block_entry_types(body: bytes) -> set[type]:
    """The types of the entries read, but the last: a block ends before a separator, so a
    body's last entry is always read on its own, as a dict."""
    entries = list(iter_log_entries(io.BytesIO(body), block_decoder=decode_flow_block))
    assert type(entries[-1]) is dict
    return {type(entry) for entry in entries[:-1]}


def test_text_path_writes_the_records_the_dict_path_writes() -> None:
    body = _body([*_varied_entries(), _examples()[0]])
    assert _block_entry_types(body) == {FlowEntry}  # the fast path really ran
    as_text = _written(body, decode_flow_block)
    assert as_text == _written(body, None)
    assert len(as_text) == len(_varied_entries()) + 1
    big = [item for line in as_text for item in line["virtualTraffic"] or () if "n" in item]
    assert big == [dict(_examples()[0]["virtualTraffic"][0], rate=1.5, n=2**70)]


def test_traffic_text_reaches_the_line_as_the_api_sent_it() -> None:
    entry = {k: v for k, v in _examples()[0].items() if k != "virtualTraffic"}
    sent = b'[{"proto":6,"rate":1.5e3,"txPkts":1 , "txBytes":18446744073709551615}]'
    body = _body([entry, entry]).replace(b'{"logged"', b'{"virtualTraffic":' + sent + b',"logged"')
    parsed, _ = iter_log_entries(io.BytesIO(body), block_decoder=decode_flow_block)
    assert type(parsed) is FlowEntry
    line = encoder.encode(network_record(parsed, "example.com"))
    assert b'"virtualTraffic":' + sent in line
    # The dict path writes the same value in its own spelling (1.5E+3, no spaces).
    as_dicts, _ = _written(body, None)
    assert json.loads(line) == as_dicts


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        *BAD_FLOW_VALUES,
        ({"start": "2024-02-30T00:00:00Z"}, "not an RFC 3339"),
        ({"physicalTraffic": 5}, "not an array"),
    ],
)
def test_text_path_rejects_what_the_dict_path_rejects(change: dict, reason: str) -> None:
    good = _examples()[0]
    body = _body([good, dict(good, **change), good])
    assert _block_entry_types(body) == {FlowEntry}
    as_text = _written(body, decode_flow_block)
    assert as_text == _written(body, None)
    assert as_text[1][0] == "rejected"
    assert reason in as_text[1][1]
    assert as_text[1][2]  # keyed like the dict path's rejection (compared above)


def test_exact_checks_accept_what_the_one_pass_check_refuses() -> None:
    # A counter above int64 fails the typed check, then passes the exact one (u64).
    traffic = [{"proto": True, "txBytes": 2**64 - 1}]
    entry = dict(_examples()[0], virtualTraffic=traffic)
    body = _body([entry, entry])
    assert _block_entry_types(body) == {FlowEntry}
    written, _ = _written(body, decode_flow_block)
    assert written["virtualTraffic"] == traffic


@pytest.mark.parametrize(
    "change",
    [
        {"srcNode": {"nodeId": "n1", "name": "café.ts.net."}},  # not ASCII
        {"virtualTraffic": [{"src": "a\u0001b"}]},  # an escape in the text
        {"futureField": 1},  # kept under extra_fields, which FlowEntry has no place for
        {"nodeId": None},  # keyed by its content
        {"srcNode": "n1"},  # rejected with its reason by the exact checks
        {"dstNodes": {"nodeId": "n2"}},
        {"logged": None},
    ],
)
def test_blocks_the_text_path_refuses_are_read_as_dicts(change: dict) -> None:
    good = _examples()[0]
    body = _body([good, dict(good, **change), good])
    assert _block_entry_types(body) == {dict}
    assert _written(body, decode_flow_block) == _written(body, None)


def test_a_line_break_inside_an_entry_sends_the_block_to_dicts() -> None:
    block = b'[{"logged":"2026-01-01T00:00:00Z","nodeId":"n","virtualTraffic":[\n{"proto":6}]}]'
    assert decode_flow_block(block) is None
    assert decode_flow_block(block.replace(b"\n", b" ")) is not None


def test_missing_and_null_traffic_both_become_null() -> None:
    entry = {"logged": "2026-01-01T00:00:00Z", "nodeId": "n", "subnetTraffic": None}
    (parsed,) = decode_flow_block(_body([entry])[len(b'{"logs":') : -1]) or []
    record = network_record(parsed, "-")
    assert record["virtualTraffic"] is None
    assert json.loads(encoder.encode(record))["subnetTraffic"] is None


# ---- which runs take the text path ------------------------------------------------


@pytest.fixture
def text_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the blocks that network streams decode as text, in every run of the test."""
    taken: list[int] = []

    def counting(block: bytes) -> list[Any] | None:
        entries = decode_flow_block(block)
        if entries is not None:
            taken.append(len(entries))
        return entries

    monkeypatch.setattr(streams, "decode_flow_block", counting)
    return taken


def _network_settings(emulator: Emulator, **overrides: Any) -> dict[str, Any]:
    start = (NOW - timedelta(hours=6)).isoformat()
    # A fixed end: two runs compared record for record must not end at two different
    # wall-clock seconds (their last bookmarks would differ).
    return fast_settings(
        emulator.url,
        start_date=start,
        end_date=NOW.isoformat(),
        network_window_seconds=3 * 3600,
        **overrides,
    )


def test_network_flow_alone_writes_text_and_the_same_records(
    emulator: Emulator, text_blocks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _network_settings(emulator)
    fast = run_tap(settings, streams=("network_flow",))
    assert fast.error is None
    # Each body's last entry is read on its own, as a dict (see _block_entry_types).
    windows = sum(r.path.endswith("/logging/network") for r in emulator.requests)
    assert sum(text_blocks) > 200
    assert 0 < len(fast.records["network_flow"]) - sum(text_blocks) <= windows
    text_blocks.clear()
    monkeypatch.setattr(NetworkFlowStream, "keeps_traffic_as_text", False)
    plain = run_tap(settings, streams=("network_flow",))
    assert text_blocks == []
    assert fast.records_and_states == plain.records_and_states


@pytest.mark.parametrize(
    # Streams sync in name order: network_flow reads for ocsf_network_activity, and
    # network_connection reads for network_flow.
    "companion",
    ["ocsf_network_activity", "network_connection"],
)
def test_a_stream_sharing_the_read_gets_dicts(
    emulator: Emulator, text_blocks: list[int], companion: str
) -> None:
    run = run_tap(_network_settings(emulator), streams=("network_flow", companion))
    assert run.error is None
    assert run.records["network_flow"]
    assert len(run.records[companion]) > len(run.records["network_flow"])
    assert text_blocks == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"flattening_enabled": True, "flattening_max_depth": 1},
        {"stream_maps": {"network_flow": {"srcNode": "__NULL__"}}},
    ],
)
def test_records_the_sdk_transforms_are_dicts(
    emulator: Emulator, text_blocks: list[int], overrides: dict[str, Any]
) -> None:
    run = run_tap(_network_settings(emulator, **overrides), streams=("network_flow",))
    assert run.error is None
    assert run.records["network_flow"]
    assert text_blocks == []


def test_batch_files_get_dicts(emulator: Emulator, text_blocks: list[int], tmp_path: Path) -> None:
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": tmp_path.as_uri(), "prefix": "batch-"},
    }
    settings = _network_settings(emulator, batch_config=batch_config)
    run = run_tap(settings, streams=("network_flow",))
    assert run.error is None
    assert [m for m in run.messages if m["type"] == "BATCH"]
    assert text_blocks == []
