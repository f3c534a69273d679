"""Timestamp normalization, deterministic keys, record shaping and body streaming."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import pytest

from tap_tailscale.client import DeadlineReader
from tap_tailscale.errors import BodyError, RejectedEntryError, ResponseTooLargeError
from tap_tailscale.fields import json_text
from tap_tailscale.logs.keys import configuration_event_id, network_flow_id
from tap_tailscale.logs.parsing import iter_log_entries
from tap_tailscale.logs.records import configuration_record, network_record
from tap_tailscale.timeutil import (
    TIMESTAMP_WIDTH,
    format_timestamp,
    normalize_optional_timestamp,
    normalize_timestamp,
    parse_timestamp,
    widen_bookmark,
)

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("2024-06-06T15:25:26.583893123Z", "2024-06-06T15:25:26.583893123Z"),
        ("2027-05-11T10:05:40.655203306Z", "2027-05-11T10:05:40.655203306Z"),
        ("2024-06-06T15:25:26.583893Z", "2024-06-06T15:25:26.583893000Z"),
        ("2024-06-06T15:25:26.12Z", "2024-06-06T15:25:26.120000000Z"),
        ("2024-06-06T15:25:26Z", "2024-06-06T15:25:26.000000000Z"),
        ("2023-12-19T16:39:57-08:00", "2023-12-20T00:39:57.000000000Z"),
        ("2023-12-19T16:39:57.5+01:00", "2023-12-19T15:39:57.500000000Z"),
        # An offset moves whole minutes: the nanoseconds survive the move to UTC.
        ("2023-12-31T23:59:59.123456789-01:30", "2024-01-01T01:29:59.123456789Z"),
        # More digits than nanoseconds are kept, never cut.
        ("2024-06-06T15:25:26.1234567891Z", "2024-06-06T15:25:26.1234567891Z"),
    ],
)
def test_timestamps_normalize_to_utc_keeping_every_digit(raw: str, normalized: str) -> None:
    assert normalize_timestamp(raw) == normalized
    assert parse_timestamp(normalized) == parse_timestamp(raw)


def test_bookmarks_are_nine_digit_and_old_six_digit_ones_widen() -> None:
    moment = datetime(2024, 1, 1, 0, 0, 5, 120000, tzinfo=UTC)
    assert format_timestamp(moment) == "2024-01-01T00:00:05.120000000Z"
    assert len(format_timestamp(moment)) == TIMESTAMP_WIDTH
    # A bookmark stored by a six-digit version sorts after a later nine-digit record
    # of the same microsecond; widened, it sorts before it.
    old = "2024-01-01T00:00:05.120000Z"
    later = normalize_timestamp("2024-01-01T00:00:05.120000500Z")
    assert old > later
    assert widen_bookmark(old) < later
    assert widen_bookmark(old) == format_timestamp(moment)
    assert widen_bookmark(f"{old}|abc") == "2024-01-01T00:00:05.120000000Z|abc"
    assert widen_bookmark("2024-01-01T00:00:05.120000000Z|abc").endswith("000Z|abc")
    assert widen_bookmark("not-a-time") == "not-a-time"


def test_normalized_timestamps_sort_as_strings_in_time_order() -> None:
    # Go trims trailing zeros: as raw strings "...05.12Z" sorts after "...05.123Z".
    raw = ["2024-01-01T00:00:05.12Z", "2024-01-01T00:00:05.123Z", "2024-01-01T00:00:05Z"]
    assert sorted(raw) != [
        "2024-01-01T00:00:05Z",
        "2024-01-01T00:00:05.12Z",
        "2024-01-01T00:00:05.123Z",
    ]
    assert sorted(normalize_timestamp(value) for value in raw) == [
        "2024-01-01T00:00:05.000000000Z",
        "2024-01-01T00:00:05.120000000Z",
        "2024-01-01T00:00:05.123000000Z",
    ]


def test_go_zero_time_becomes_null() -> None:
    assert normalize_optional_timestamp("0001-01-01T00:00:00Z") is None
    assert normalize_optional_timestamp(None) is None
    assert normalize_optional_timestamp("2025-03-04T10:02:50.12Z") == (
        "2025-03-04T10:02:50.120000000Z"
    )


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2024-06-06T15:25:26",
        "",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00+01:00",
        "20240606T152526Z",
    ],
)
def test_bad_timestamps_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_timestamp(bad)


def _example(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text())["logs"]


def test_configuration_key_is_stable_across_reads() -> None:
    event = _example("example-configuration.json")[0]
    reread = json.loads(json.dumps(event))
    assert configuration_event_id(event) == configuration_event_id(reread)


def test_configuration_events_sharing_group_and_time_get_distinct_keys() -> None:
    event = _example("example-configuration.json")[1]
    sibling = json.loads(json.dumps(event))
    sibling["target"]["property"] = "MACHINE_NAME"
    assert event["eventGroupID"] == sibling["eventGroupID"]
    assert event["eventTime"] == sibling["eventTime"]
    assert configuration_event_id(event) != configuration_event_id(sibling)
    other_value = json.loads(json.dumps(event))
    other_value["new"] = ["tag:ci"]
    assert configuration_event_id(event) != configuration_event_id(other_value)


def test_key_survives_integers_past_64_bits_and_decimals() -> None:
    event = {"eventTime": "2025-01-01T00:00:00Z", "old": 2**80, "new": Decimal("1.5")}
    assert len(configuration_event_id(event)) == 32


def test_flow_keys_separate_nodes_logging_at_the_same_instant() -> None:
    first, second = _example("example-network.json")
    twin = dict(second, logged=first["logged"])
    assert network_flow_id(first) != network_flow_id(twin)
    assert network_flow_id(first) == network_flow_id(json.loads(json.dumps(first)))


def test_configuration_record_shape() -> None:
    events = _example("example-configuration.json")
    record = configuration_record(events[0], "example.com")
    assert record["tailnet"] == "example.com"
    assert record["event_id"] == configuration_event_id(events[0])
    assert record["deferredAt"] is None
    assert record["eventTime"] == "2025-03-04T09:12:44.318207000Z"
    assert record["extra_fields"] is None
    assert configuration_record(events[2], "-")["deferredAt"] == "2025-03-04T10:02:50.120000000Z"
    assert configuration_record(events[1], "-")["new"] == '["tag:ci","tag:builder"]'


def test_unknown_top_level_fields_are_kept_not_dropped() -> None:
    event = dict(_example("example-configuration.json")[0], brandNewField={"x": 1})
    assert json.loads(configuration_record(event, "-")["extra_fields"]) == {
        "brandNewField": {"x": 1}
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("true", '"true"'),
        (True, "true"),
        (False, "false"),
        ("", '""'),
        ("null", '"null"'),
        (2**53 + 1, "9007199254740993"),
        (2**64, "18446744073709551616"),
        (-(2**70), "-1180591620717411303424"),
        (Decimal("4.50"), "4.50"),
        (Decimal("1E+400"), "1E+400"),
        (1.5, "1.5"),
        ('Zoë \u2028 "quoted"', '"Zoë \u2028 \\"quoted\\""'),
        ({"b": 1, "a": [None, "x"]}, '{"b":1,"a":[null,"x"]}'),
        ([], "[]"),
        ({}, "{}"),
    ],
)
def test_json_text_keeps_type_and_every_digit(value: object, text: str) -> None:
    assert json_text(value) == text
    assert json.loads(text, parse_float=Decimal) == value


def test_null_and_missing_values_are_null_not_the_text_null() -> None:
    event = dict(_example("example-configuration.json")[0], old=None)
    event.pop("new", None)
    record = configuration_record(event, "-")
    assert record["old"] is None
    assert record["new"] is None
    assert json_text(None) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eventTime": None}, "not an RFC 3339"),
        ({"eventTime": "2025-03-04T09:12:44+0200x"}, "not an RFC 3339"),
        ({"actor": "alice"}, "`actor` is str"),
        ({"target": ["t"]}, "`target` is list"),
        ({"type": 1}, "`type` is int"),
        ({"eventGroupID": 2}, "`eventGroupID` is int"),
        ({"origin": True}, "`origin` is bool"),
        ({"action": 5}, "`action` is int"),
        ({"actionDetails": {}}, "`actionDetails` is dict"),
        ({"error": 1.5}, "`error` is float"),
    ],
)
def test_bad_configuration_entries_are_rejected_with_reason_and_key(
    change: dict, reason: str
) -> None:
    event = dict(_example("example-configuration.json")[0], **change)
    with pytest.raises(RejectedEntryError, match=reason) as caught:
        configuration_record(event, "-")
    assert caught.value.key == configuration_event_id(event)


def test_missing_event_time_is_rejected() -> None:
    event = _example("example-configuration.json")[0]
    del event["eventTime"]
    with pytest.raises(RejectedEntryError, match="missing"):
        configuration_record(event, "-")


def test_network_record_keeps_counters_and_protocols_as_sent() -> None:
    entry = _example("example-network.json")[0]
    entry["virtualTraffic"][0]["txBytes"] = 2**64 - 1
    entry["virtualTraffic"][1]["proto"] = "udp"
    record = network_record(entry, "-")
    assert record["virtualTraffic"][0]["txBytes"] == 18446744073709551615
    assert record["virtualTraffic"][1]["proto"] == "udp"
    assert record["start"] == entry["start"] == "2025-03-04T09:30:00.117342905Z"
    assert record["subnetTraffic"] is None


def test_nanosecond_times_come_out_as_sent() -> None:
    entry = dict(
        _example("example-network.json")[0],
        logged="2027-05-11T10:05:40.655203306Z",
        start="2027-05-11T10:05:35.000000001Z",
        end="2027-05-11T10:05:40.123456789Z",
    )
    record = network_record(entry, "-")
    assert (record["logged"], record["start"], record["end"]) == (
        entry["logged"],
        entry["start"],
        entry["end"],
    )
    event = dict(
        _example("example-configuration.json")[0],
        eventTime="2027-05-11T10:05:40.655203306Z",
        deferredAt="2027-05-11T10:06:00.000000007Z",
    )
    record = configuration_record(event, "-")
    assert record["eventTime"] == event["eventTime"]
    assert record["deferredAt"] == event["deferredAt"]


@pytest.mark.parametrize("node_id", [None, ""])
def test_reports_without_a_node_are_emitted(node_id: str | None) -> None:
    entry = _example("example-network.json")[0]
    entry["nodeId"] = node_id
    record = network_record(entry, "-")
    assert record["nodeId"] == node_id
    assert record["flow_id"] == network_flow_id(entry)
    del entry["nodeId"]
    assert network_record(entry, "-")["nodeId"] is None


# Bad values in fields that keep an entry's usual shape; tests/test_flow_text.py checks that
# the text path rejects each of them as the dict path does.
BAD_FLOW_VALUES = [
    ({"logged": "soon"}, "not an RFC 3339"),
    ({"virtualTraffic": {"proto": 6}}, "not an array"),
    ({"virtualTraffic": [{"txBytes": 2**64}]}, "unsigned 64-bit"),
    ({"virtualTraffic": [{"txBytes": -1}]}, "unsigned 64-bit"),
    ({"virtualTraffic": [{"txBytes": "12"}]}, "unsigned 64-bit"),
    ({"virtualTraffic": [{"proto": 6.5}]}, "proto"),
    ({"exitTraffic": [{"rxPkts": True}]}, "unsigned 64-bit"),
    ({"subnetTraffic": [7]}, "holds a int"),
]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nodeId": 12}, "nodeId"),
        ({"logged": None}, "not an RFC 3339"),
        *BAD_FLOW_VALUES,
        ({"srcNode": [1]}, "srcNode"),
        ({"dstNodes": {}}, "dstNodes"),
    ],
)
def test_bad_network_entries_are_rejected(change: dict, reason: str) -> None:
    entry = dict(_example("example-network.json")[0], **change)
    with pytest.raises(RejectedEntryError, match=reason):
        network_record(entry, "-")


def test_streaming_parser_yields_entries_and_big_counters() -> None:
    body = b'{"logs":[{"a":1,"b":18446744073709551615},{"c":[1,2]}]}'
    assert list(iter_log_entries(io.BytesIO(body))) == [
        {"a": 1, "b": 18446744073709551615},
        {"c": [1, 2]},
    ]


@pytest.mark.parametrize(
    "body", [b'{"logs": null}', b'{"logs": []}', b'{"version":"1.1","tailnet":"x","logs":null}']
)
def test_empty_windows_yield_nothing(body: bytes) -> None:
    assert list(iter_log_entries(io.BytesIO(body))) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"logs": 5}', "neither an array nor null"),
        (b'{"logs": "x"}', "neither an array nor null"),
        (b"<html>bad gateway</html>", "not valid JSON"),
        (b"{}", "no `logs`"),
        (b'{"logs":[{"a":1},{"b"', "broke off"),
    ],
)
def test_malformed_bodies_raise_body_error(body: bytes, reason: str) -> None:
    with pytest.raises(BodyError, match=reason):
        list(iter_log_entries(io.BytesIO(body)))


def test_truncated_body_yields_what_came_before_the_break() -> None:
    seen: list[Any] = []
    with pytest.raises(BodyError):
        seen.extend(iter_log_entries(io.BytesIO(b'{"logs":[{"a":1},{"a":2},{"a"')))
    assert seen == [{"a": 1}, {"a": 2}]


class _PlainBody:
    """A raw body without read1 (as a replayed one): read as it is asked."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        return self._body.read(size)


def test_body_over_the_limit_is_refused_while_it_is_parsed() -> None:
    body = b'{"logs":[' + b",".join(b'{"a":%d}' % i for i in range(10_000)) + b"]}"
    reader = DeadlineReader(_PlainBody(body), float("inf"), lambda: 0.0, max_bytes=4096)
    seen: list[Any] = []
    with pytest.raises(ResponseTooLargeError, match=r"max_response_bytes \(4,096 bytes\)"):
        seen.extend(iter_log_entries(cast("IO[bytes]", reader)))
    assert len(seen) < 10_000
    # Under the limit the same body is read whole.
    whole = DeadlineReader(_PlainBody(body), float("inf"), lambda: 0.0, max_bytes=len(body))
    assert len(list(iter_log_entries(cast("IO[bytes]", whole)))) == 10_000


def test_key_does_not_depend_on_the_json_parser() -> None:
    # ijson reads 4.5 as Decimal("4.5"), orjson as 4.5: the same event, the same key.
    event = {"eventTime": "2025-01-01T00:00:00Z", "new": {"score": 4.5}}
    streamed = {"eventTime": "2025-01-01T00:00:00Z", "new": {"score": Decimal("4.5")}}
    assert configuration_event_id(event) == configuration_event_id(streamed)


def test_integers_past_64_bits_in_free_form_json_stay_exact_numbers() -> None:
    event = dict(
        _example("example-configuration.json")[1],
        old={"n": 2**70, "ok": [1, -(2**63)]},
        new=2**64,
        futureField=[2**65],
    )
    record = configuration_record(event, "-")
    assert record["old"] == '{"n":1180591620717411303424,"ok":[1,-9223372036854775808]}'
    assert record["new"] == "18446744073709551616"
    assert record["extra_fields"] == '{"futureField":[36893488147419103232]}'
    assert record["event_id"] == configuration_event_id(event)


def test_reports_without_node_id_are_keyed_by_their_content() -> None:
    from tap_tailscale.logs.keys import network_flow_id  # noqa: PLC0415

    base = {"logged": "2026-11-21T10:00:00Z", "start": "a", "end": "b"}
    one = {**base, "virtualTraffic": [{"src": "100.64.0.1:1", "dst": "100.64.0.2:2"}]}
    two = {**base, "virtualTraffic": [{"src": "100.64.0.3:1", "dst": "100.64.0.2:2"}]}
    assert network_flow_id(one) != network_flow_id(two)
    assert network_flow_id(one) == network_flow_id(dict(one))
    with_node = {**one, "nodeId": "n1"}
    assert network_flow_id(with_node) == network_flow_id({**two, "nodeId": "n1"})


def test_ordinary_flow_entries_take_the_one_pass_shape_check() -> None:
    # The C-level check must accept what the exact checks accept, or every entry would
    # pay for both; entries it refuses still get the exact verdict (above).
    from tap_tailscale.logs.records import has_flow_shape  # noqa: PLC0415 - one test uses it

    entries = _example("example-network.json")
    assert entries
    assert all(has_flow_shape(entry) for entry in entries)
    assert not has_flow_shape(dict(entries[0], nodeId=12))
