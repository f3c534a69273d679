"""Timestamp normalization, deterministic keys, record shaping and body streaming."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tap_tailscale.keys import configuration_event_id, network_flow_id
from tap_tailscale.parsing import BodyError, ResponseTooLargeError, iter_log_entries
from tap_tailscale.records import RejectedEntryError, configuration_record, network_record
from tap_tailscale.timeutil import normalize_optional_timestamp, normalize_timestamp

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("2024-06-06T15:25:26.583893Z", "2024-06-06T15:25:26.583893Z"),
        ("2024-06-06T15:25:26.583893123Z", "2024-06-06T15:25:26.583893Z"),
        ("2024-06-06T15:25:26.12Z", "2024-06-06T15:25:26.120000Z"),
        ("2024-06-06T15:25:26Z", "2024-06-06T15:25:26.000000Z"),
        ("2023-12-19T16:39:57-08:00", "2023-12-20T00:39:57.000000Z"),
        ("2023-12-19T16:39:57.5+01:00", "2023-12-19T15:39:57.500000Z"),
    ],
)
def test_timestamps_normalize_to_one_fixed_width_utc_form(raw: str, normalized: str) -> None:
    assert normalize_timestamp(raw) == normalized


def test_normalized_timestamps_sort_as_strings_in_time_order() -> None:
    # Go trims trailing zeros: as raw strings "...05.12Z" sorts after "...05.123Z".
    raw = ["2024-01-01T00:00:05.12Z", "2024-01-01T00:00:05.123Z", "2024-01-01T00:00:05Z"]
    assert sorted(raw) != [
        "2024-01-01T00:00:05Z",
        "2024-01-01T00:00:05.12Z",
        "2024-01-01T00:00:05.123Z",
    ]
    assert sorted(normalize_timestamp(value) for value in raw) == [
        "2024-01-01T00:00:05.000000Z",
        "2024-01-01T00:00:05.120000Z",
        "2024-01-01T00:00:05.123000Z",
    ]


def test_go_zero_time_becomes_null() -> None:
    assert normalize_optional_timestamp("0001-01-01T00:00:00Z") is None
    assert normalize_optional_timestamp(None) is None
    assert normalize_optional_timestamp("2025-03-04T10:02:50.12Z") == "2025-03-04T10:02:50.120000Z"


@pytest.mark.parametrize("bad", ["yesterday", "2024-06-06T15:25:26", "", "2024-13-01T00:00:00Z"])
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
    assert record["eventTime"] == "2025-03-04T09:12:44.318207Z"
    assert record["extra_fields"] is None
    assert configuration_record(events[2], "-")["deferredAt"] == "2025-03-04T10:02:50.120000Z"
    assert configuration_record(events[1], "-")["new"] == ["tag:ci", "tag:builder"]


def test_unknown_top_level_fields_are_kept_not_dropped() -> None:
    event = dict(_example("example-configuration.json")[0], brandNewField={"x": 1})
    assert configuration_record(event, "-")["extra_fields"] == {"brandNewField": {"x": 1}}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eventTime": None}, "not an RFC 3339"),
        ({"eventTime": "2025-03-04T09:12:44+0200x"}, "not an RFC 3339"),
        ({"actor": "alice"}, "`actor` is str"),
        ({"action": 5}, "`action` is int"),
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
    assert record["start"] == "2025-03-04T09:30:00.117342Z"
    assert record["subnetTraffic"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nodeId": None}, "nodeId"),
        ({"logged": "soon"}, "not an RFC 3339"),
        ({"virtualTraffic": {"proto": 6}}, "not an array"),
        ({"virtualTraffic": [{"txBytes": 2**64}]}, "unsigned 64-bit"),
        ({"virtualTraffic": [{"txBytes": -1}]}, "unsigned 64-bit"),
        ({"virtualTraffic": [{"txBytes": "12"}]}, "unsigned 64-bit"),
        ({"virtualTraffic": [{"proto": 6.5}]}, "proto"),
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
    seen = []
    with pytest.raises(BodyError):
        seen.extend(iter_log_entries(io.BytesIO(b'{"logs":[{"a":1},{"a":2},{"a"')))
    assert seen == [{"a": 1}, {"a": 2}]


def test_body_over_the_limit_is_refused() -> None:
    body = b'{"logs":[' + b",".join(b'{"a":%d}' % i for i in range(10_000)) + b"]}"
    with pytest.raises(ResponseTooLargeError):
        list(iter_log_entries(io.BytesIO(body), max_bytes=4096))


def test_key_does_not_depend_on_the_json_parser() -> None:
    # ijson reads 4.5 as Decimal("4.5"), orjson as 4.5: the same event, the same key.
    event = {"eventTime": "2025-01-01T00:00:00Z", "new": {"score": 4.5}}
    streamed = {"eventTime": "2025-01-01T00:00:00Z", "new": {"score": Decimal("4.5")}}
    assert configuration_event_id(event) == configuration_event_id(streamed)


def test_integers_past_64_bits_in_free_form_json_become_exact_strings() -> None:
    event = dict(
        _example("example-configuration.json")[1],
        old={"n": 2**70, "ok": [1, -(2**63)]},
        new=2**64,
        futureField=[2**65],
    )
    record = configuration_record(event, "-")
    assert record["old"] == {"n": "1180591620717411303424", "ok": [1, -(2**63)]}
    assert record["new"] == "18446744073709551616"
    assert record["extra_fields"] == {"futureField": ["36893488147419103232"]}
    # The key still reflects the original values.
    assert record["event_id"] == configuration_event_id(event)
