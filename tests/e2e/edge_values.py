"""Hard values for a warehouse, put into the emulator's data so every load test sees them.

`old`/`new` get strings that look like other types (`"true"`, `"null"`, `""`), booleans,
integers past 2^53, nested JSON and non-ASCII text; some network reports lose `nodeId`
or gain a field the schema does not know. The choice hangs on each entry's content, so
re-reads of a window (overlaps, retries) see the same values, and the emulator's own
count and key helpers, which read the same patched dataset, agree with what it serves.
"""

from __future__ import annotations

import importlib
import json
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

# Integers stay within u64 / i64: the emulator encodes bodies with orjson.
EDGE_VALUES: tuple[Any, ...] = (
    "true",
    True,
    False,
    2**53 + 1,
    2**64 - 1,
    -(2**63),
    4.5,
    "",
    "null",
    None,
    "2027-05-11T10:05:40.655203306Z",
    'Zoë ☃ \u2028 "quoted" \\',
    {"k": ["v", 1, None, True], "nested": {"n": 2**63}},
    [],
    {},
)
NODELESS_EVERY = 7  # about one network report in seven loses its nodeId
EXTRA_EVERY = 5  # about one in five gains a field the schema does not know


def emulator_package() -> ModuleType:
    """The emulator package (Emulator, EmulatorConfig, TailnetConfig), wherever it lives."""
    try:
        return importlib.import_module("tailscale_emulator")
    except ImportError:  # a checkout from before it moved out of the tap package
        return importlib.import_module("tap_tailscale.emulator")


def _pick(*parts: Any) -> int:
    return zlib.crc32("|".join(str(part) for part in parts).encode())


def edge_event(event: dict[str, Any]) -> dict[str, Any]:
    """A configuration event with `old`/`new` drawn from EDGE_VALUES by its content."""
    index = _pick(event.get("eventTime"), event.get("eventGroupID"), event.get("action"))
    count = len(EDGE_VALUES)
    changed = dict(event, old=EDGE_VALUES[index % count], new=EDGE_VALUES[(index + 1) % count])
    for field, value in (("old", changed["old"]), ("new", changed["new"])):
        if value is None:
            del changed[field]  # a missing value, like the API's omitempty
    return changed


def edge_report(entry: dict[str, Any]) -> dict[str, Any]:
    """A network report that may lose its nodeId or carry an unknown field."""
    index = _pick(entry.get("logged"), entry.get("nodeId"), entry.get("start"))
    changed = dict(entry)
    if index % NODELESS_EVERY == 0:
        changed.pop("nodeId", None)
    if index % EXTRA_EVERY == 1:
        changed["futureField"] = {"seen": index % 2 == 0, "score": 2**53 + 1}
    return changed


def inject(dataset: Any) -> None:
    """Make `dataset` (an emulator's) serve edge values from now on."""
    config_events: Callable[..., Iterator[dict[str, Any]]] = dataset.configuration_events_ns
    network_logs: Callable[..., Iterator[dict[str, Any]]] = dataset.network_logs_ns

    def patched_config(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return (edge_event(event) for event in config_events(*args, **kwargs))

    def patched_network(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return (edge_report(entry) for entry in network_logs(*args, **kwargs))

    dataset.configuration_events_ns = patched_config
    dataset.network_logs_ns = patched_network


def canonical(value: Any) -> str:
    """Text that differs whenever two JSON values differ in type or value (True vs 1)."""
    return json.dumps(value, sort_keys=True)


def loaded(text: str | None) -> Any:
    """A value stored as JSON text, read back (None for SQL NULL)."""
    return None if text is None else json.loads(text)
