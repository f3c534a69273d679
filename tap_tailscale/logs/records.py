"""Turn API log entries into stream records, rejecting what cannot be emitted safely.

The SDK's per-record type conforming is switched off for speed (it was about a third of
a naive tap's time), so this module is where types are made right: timestamps are
normalized once, values of any JSON type (`old`, `new`) become JSON text, unknown
top-level fields are kept under `extra_fields`, and an entry whose shape would break the
schema is rejected with a reason instead of crashing the run. The caller logs and counts
rejects.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from tap_tailscale.errors import InvalidTimestampError, RejectedEntryError
from tap_tailscale.fields import json_text
from tap_tailscale.logs.keys import configuration_key, network_flow_id, node_report_key
from tap_tailscale.timeutil import normalize_optional_timestamp, normalize_timestamp

U64_MAX = 2**64 - 1
# The network log's traffic arrays. Defined here, not in schemas (which imports this
# module), so that any module may import records without an import cycle.
TRAFFIC_KINDS = ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic")

CONFIGURATION_FIELDS = frozenset(
    (
        "eventTime",
        "type",
        "deferredAt",
        "eventGroupID",
        "origin",
        "actor",
        "target",
        "action",
        "old",
        "new",
        "actionDetails",
        "error",
    )
)
_CONFIGURATION_STRINGS = ("type", "eventGroupID", "origin", "action", "actionDetails", "error")
_TEXT_OR_NULL = frozenset((str, type(None)))
NETWORK_FIELDS = frozenset(
    ("logged", "nodeId", "start", "end", *TRAFFIC_KINDS, "srcNode", "dstNodes")
)
_COUNTERS = ("txPkts", "txBytes", "rxPkts", "rxBytes")


def _extras(entry: Mapping[str, Any], known: frozenset[str]) -> str | None:
    """Unknown top-level fields as JSON text of one object, or None when there are none."""
    if len(entry) <= len(known) and known.issuperset(entry):
        return None
    return json_text({k: v for k, v in entry.items() if k not in known} or None)


# Decimal (how the body parser reads any number with a fraction) is written as the digits
# the API sent, and integers of any size exactly; neither orjson nor the stdlib does both.


def _check_object(value: Any, field: str, key: str) -> None:
    if value is not None and type(value) is not dict and not isinstance(value, Mapping):
        raise RejectedEntryError(f"`{field}` is {type(value).__name__}, not an object", key)


def configuration_record(entry: Any, tailnet: str) -> dict[str, Any]:
    """Shape a ConfigurationAuditLog entry into a `configuration_audit` record."""
    if type(entry) is not dict and not isinstance(entry, Mapping):
        raise RejectedEntryError(f"entry is {type(entry).__name__}, not an object", None)
    # Each field is looked up once, for the key and for the record.
    get = entry.get
    event_type, group, origin = get("type"), get("eventGroupID"), get("origin")
    action, details, error = get("action"), get("actionDetails"), get("error")
    actor, target, old, new = get("actor"), get("target"), get("old"), get("new")
    key = configuration_key(
        group=group,
        event_time=get("eventTime"),
        action=action,
        origin=origin,
        actor=actor,
        target=target,
        old=old,
        new=new,
        error=error,
    )
    try:
        event_time = normalize_timestamp(entry["eventTime"])
        deferred_at = normalize_optional_timestamp(get("deferredAt"))
    except KeyError:
        raise RejectedEntryError("`eventTime` is missing", key) from None
    except InvalidTimestampError as exc:
        raise RejectedEntryError(str(exc), key) from None
    # Checked inline, without a call or a container for the usual objects, text and nulls.
    if type(actor) is not dict and actor is not None:
        _check_object(actor, "actor", key)
    if type(target) is not dict and target is not None:
        _check_object(target, "target", key)
    text = _TEXT_OR_NULL
    if not (
        type(event_type) in text
        and type(group) in text
        and type(origin) in text
        and type(action) in text
        and type(details) in text
        and type(error) in text
    ):
        _check_strings((event_type, group, origin, action, details, error), key)
    return {
        "event_id": key,
        "tailnet": tailnet,
        "eventTime": event_time,
        "type": event_type,
        "deferredAt": deferred_at,
        "eventGroupID": group,
        "origin": origin,
        "actor": actor,
        "target": target,
        "action": action,
        "old": json_text(old),
        "new": json_text(new),
        "actionDetails": details,
        "error": error,
        "extra_fields": _extras(entry, CONFIGURATION_FIELDS),
    }


def _check_strings(strings: tuple[Any, ...], key: str) -> None:
    for field, value in zip(_CONFIGURATION_STRINGS, strings, strict=True):
        if value is not None and not isinstance(value, str):
            raise RejectedEntryError(f"`{field}` is {type(value).__name__}, not a string", key)


def _check_traffic(items: Any, kind: str, key: str) -> None:
    if not isinstance(items, list):
        raise RejectedEntryError(f"`{kind}` is {type(items).__name__}, not an array", key)
    for item in items:
        if type(item) is not dict and not isinstance(item, dict):
            raise RejectedEntryError(f"`{kind}` holds a {type(item).__name__}", key)
        get = item.get
        proto = get("proto")
        if proto is not None and type(proto) is not int and not isinstance(proto, int | str):
            raise RejectedEntryError(f"`{kind}.proto` is {type(proto).__name__}", key)
        for counter in _COUNTERS:
            value = get(counter)
            if value is not None and (type(value) is not int or not 0 <= value <= U64_MAX):
                raise RejectedEntryError(
                    f"`{kind}.{counter}` is {value!r}, not an unsigned 64-bit integer", key
                )


# The shape every check below accepts, for one C-level pass in the usual case (a dozen
# traffic items an entry make the per-item Python checks a third of shaping). Counters
# above int64 fail here and go through the exact checks, which allow up to u64.
_COUNTER = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _TrafficShape(msgspec.Struct, gc=False, rename="camel"):
    proto: int | str | None = None
    tx_pkts: _COUNTER | None = None
    tx_bytes: _COUNTER | None = None
    rx_pkts: _COUNTER | None = None
    rx_bytes: _COUNTER | None = None


class _FlowShape(msgspec.Struct, gc=False, rename="camel", forbid_unknown_fields=True):
    # Every known field is named, so an entry with an unknown one (extra_fields) fails
    # here too; the timestamps are checked where they are normalized.
    logged: Any = None
    start: Any = None
    end: Any = None
    node_id: str | None = None
    virtual_traffic: list[_TrafficShape] | None = None
    subnet_traffic: list[_TrafficShape] | None = None
    exit_traffic: list[_TrafficShape] | None = None
    physical_traffic: list[_TrafficShape] | None = None
    src_node: dict[str, Any] | None = None
    dst_nodes: list[Any] | None = None


def has_flow_shape(entry: dict[str, Any]) -> bool:
    try:
        msgspec.convert(entry, _FlowShape)
    except msgspec.ValidationError:
        return False
    return True


class FlowEntry(msgspec.Struct, gc=False, rename="camel", forbid_unknown_fields=True):
    """A network log entry whose traffic arrays stay the API's JSON text (msgspec.Raw).

    Traffic items are most of a flow body's bytes. Decoding them into dicts and encoding
    the dicts again into RECORD lines was about a third of a network window's time; the
    record writer (msgspec) copies a Raw's bytes into the line as they are. So only a
    stream whose records go straight to that writer may decode into FlowEntry (see
    decode_flow_block); the usual entries are required here, anything else fails the
    block, which is then decoded into dicts and shaped by the exact checks.
    """

    logged: str
    node_id: str
    start: str | None = None
    end: str | None = None
    virtual_traffic: msgspec.Raw | UnsetType = UNSET
    subnet_traffic: msgspec.Raw | UnsetType = UNSET
    exit_traffic: msgspec.Raw | UnsetType = UNSET
    physical_traffic: msgspec.Raw | UnsetType = UNSET
    src_node: dict[str, Any] | None = None
    dst_nodes: list[Any] | None = None


# float_hook as the body parser's: a number with a fraction is kept as the digits sent.
_FLOW_BLOCK = msgspec.json.Decoder(list[FlowEntry], float_hook=Decimal)
_TRAFFIC = msgspec.json.Decoder(list[_TrafficShape] | None)
#: Any JSON value as the body parser reads it (tap_tailscale.logs.parsing uses this one): so
#: FlowEntry's exact fallback sees the same values, and gives the same reasons, as dicts.
JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_flow_block(block: bytes) -> list[Any] | None:
    """A JSON array of network log entries as FlowEntry objects, or None to use dicts.

    Raw text goes into the output unchecked, so a block is only taken in this form when
    its bytes are plain: ASCII (nothing to validate as UTF-8), no escapes (the text then
    reads as the dict path writes it), and no line break (a RECORD line must not hold
    one). Compact JSON of a network log is all three.
    """
    if not block.isascii() or b"\\" in block or b"\n" in block or b"\r" in block:
        return None
    try:
        return _FLOW_BLOCK.decode(block)
    except msgspec.DecodeError:  # an unusual entry: the exact path says what is wrong
        return None


def network_record(entry: Any, tailnet: str) -> dict[str, Any]:
    """Shape a NetworkFlowLog entry (a dict, or a FlowEntry) into a `network_flow` record."""
    if type(entry) is FlowEntry:
        return _flow_entry_record(entry, tailnet)
    if type(entry) is dict and has_flow_shape(entry):
        return _network_record(entry, tailnet, network_flow_id(entry), extras=None)
    if type(entry) is not dict and not isinstance(entry, Mapping):
        raise RejectedEntryError(f"entry is {type(entry).__name__}, not an object", None)
    key = network_flow_id(entry)
    _check_flow_shape(entry, key)
    return _network_record(entry, tailnet, key, extras=_extras(entry, NETWORK_FIELDS))


def _check_flow_shape(entry: Mapping[str, Any], key: str) -> None:
    """Raise RejectedEntryError for the first field that _FlowShape would refuse."""
    get = entry.get
    node_id = get("nodeId")
    # A report without a node is still a report: only `logged` decides its window.
    if node_id is not None and not isinstance(node_id, str):
        raise RejectedEntryError(f"`nodeId` is {type(node_id).__name__}, not a string", key)
    for kind in TRAFFIC_KINDS:
        items = get(kind)
        if items is not None:
            _check_traffic(items, kind, key)
    _check_object(get("srcNode"), "srcNode", key)
    dst_nodes = get("dstNodes")
    if dst_nodes is not None and not isinstance(dst_nodes, list):
        raise RejectedEntryError("`dstNodes` is not an array", key)


def _network_record(
    entry: Mapping[str, Any], tailnet: str, key: str, *, extras: str | None
) -> dict[str, Any]:
    get = entry.get
    try:
        logged = normalize_timestamp(entry["logged"])
        start = normalize_optional_timestamp(get("start"))
        end = normalize_optional_timestamp(get("end"))
    except KeyError:
        raise RejectedEntryError("`logged` is missing", key) from None
    except InvalidTimestampError as exc:
        raise RejectedEntryError(str(exc), key) from None
    return {
        "flow_id": key,
        "tailnet": tailnet,
        "logged": logged,
        "nodeId": get("nodeId"),
        "start": start,
        "end": end,
        "virtualTraffic": get("virtualTraffic"),
        "subnetTraffic": get("subnetTraffic"),
        "exitTraffic": get("exitTraffic"),
        "physicalTraffic": get("physicalTraffic"),
        "srcNode": get("srcNode"),
        "dstNodes": get("dstNodes"),
        "extra_fields": extras,
    }


def _flow_entry_record(entry: FlowEntry, tailnet: str) -> dict[str, Any]:
    logged, start, end = entry.logged, entry.start, entry.end
    key = node_report_key(entry.node_id, start, end, logged)
    # Spelled out per array: this runs for every flow entry, and a loop over the four
    # (with a tuple and zip) cost more than the checks of the arrays that are absent.
    virtual, subnet, exit_, physical = (
        entry.virtual_traffic,
        entry.subnet_traffic,
        entry.exit_traffic,
        entry.physical_traffic,
    )
    if virtual is not UNSET:
        _check_traffic_text(virtual, "virtualTraffic", key)
    if subnet is not UNSET:
        _check_traffic_text(subnet, "subnetTraffic", key)
    if exit_ is not UNSET:
        _check_traffic_text(exit_, "exitTraffic", key)
    if physical is not UNSET:
        _check_traffic_text(physical, "physicalTraffic", key)
    try:
        logged = normalize_timestamp(logged)
        start = normalize_optional_timestamp(start)
        end = normalize_optional_timestamp(end)
    except InvalidTimestampError as exc:
        raise RejectedEntryError(str(exc), key) from None
    return {
        "flow_id": key,
        "tailnet": tailnet,
        "logged": logged,
        "nodeId": entry.node_id,
        "start": start,
        "end": end,
        "virtualTraffic": None if virtual is UNSET else virtual,
        "subnetTraffic": None if subnet is UNSET else subnet,
        "exitTraffic": None if exit_ is UNSET else exit_,
        "physicalTraffic": None if physical is UNSET else physical,
        "srcNode": entry.src_node,
        "dstNodes": entry.dst_nodes,
        "extra_fields": None,
    }


def _check_traffic_text(items: msgspec.Raw, kind: str, key: str) -> None:
    try:
        _TRAFFIC.decode(items)
    except msgspec.ValidationError:  # the exact checks: u64 counters, or the reason
        _check_traffic(JSON_DECODER.decode(items), kind, key)
