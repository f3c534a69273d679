"""The real-world log corpus (tests/data/real_world/logs) and bodies built from it.

Entries are kept as captured; bodies wrap them in the live envelope, and the variants
change only the layout: pretty-printed, keys reordered at every level (the envelope's
`logs` before `tailnetId`), entries shuffled within the window.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "data" / "real_world" / "logs"
TAILNET = "example.com"


def _load(name: str) -> list[dict[str, Any]]:
    text = (CORPUS / name).read_text()
    if name.endswith(".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    document = json.loads(text)
    return document["logs"] if isinstance(document, dict) else document


def configuration_entries() -> list[dict[str, Any]]:
    """Every captured configuration event, in capture order."""
    return [
        *_load("configuration-s3-export.ndjson"),
        *_load("configuration-polling.json"),
        *_load("configuration-datadog.json"),
    ]


def network_entries() -> list[dict[str, Any]]:
    """Every captured network log entry, in capture order."""
    return [
        *_load("network-datadog.json"),
        *_load("network-s3-export.ndjson"),
        *_load("network-issue-items.json"),
    ]


def reordered(value: Any) -> Any:
    """`value` with the keys of every object in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def body(entries: list[Any], *, layout: str = "compact", envelope: str = "tailnetId") -> bytes:
    """A live-style log body. Layouts: compact, pretty, reordered, pretty-reordered."""
    document: dict[str, Any] = {"version": "1.1", envelope: TAILNET, "logs": entries}
    if "reordered" in layout:
        document = reordered(document)
        assert next(iter(document)) == "logs"
    if "pretty" in layout:
        return json.dumps(document, indent=2, ensure_ascii=False).encode()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def shuffled(entries: list[Any], seed: int) -> list[Any]:
    """The entries in another order (a fixed one per seed)."""
    copy = list(entries)
    random.Random(seed).shuffle(copy)
    return copy
