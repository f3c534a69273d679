"""The block nesting check agrees with the real depth of any JSON, whatever its strings hold."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tap_tailscale.logs.nesting import nests_deeper_than

# Characters that could fool a scan over raw bytes: brackets, quotes and backslashes.
_TRICKY = ['"', "\\", "[", "]", "{", "}", "\\\\", '\\"', "a", "\n", "\t", "\b", "é", "/", "u"]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _tricky_string(rng: random.Random) -> str:
    return "".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, 6)))


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        return rng.choice([_tricky_string(rng), 7, None, True, "[fd7a::1]:443"])
    if roll < 0.65:
        return [_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {_tricky_string(rng): _value(rng, depth - 1) for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("seed", range(40))
def test_the_depth_check_matches_the_parsed_depth(seed: int) -> None:
    rng = random.Random(seed)
    document = [_value(rng, rng.randint(1, 9)) for _ in range(rng.randint(1, 6))]
    depth = _depth(document)
    for separators in ((",", ":"), (", ", ": ")):
        for ascii_only in (False, True):  # True writes `\u00e9` escapes
            text = json.dumps(document, separators=separators, ensure_ascii=ascii_only)
            raw = text.encode()
            for limit in range(max(depth - 2, 0), depth + 3):
                assert nests_deeper_than(raw, limit) is (depth > limit), (raw, limit)


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        # Strings holding brackets, escaped quotes and escaped backslashes.
        (b'[{"a":"[[[[","b":"\\\\"},{"c":[1]}]', 3),
        (b'[{"a":"]]]]]]","b":[[[[1]]]]}]', 6),
        (b'[{"a":"\\"[\\"","b":{}}]', 3),
        (b'[{"k":"\\\\\\"]"},"]"]', 2),
        (b'["[", ["x"], "]"]', 2),
    ],
)
def test_escapes_and_brackets_in_strings_do_not_move_the_depth(raw: bytes, depth: int) -> None:
    assert _depth(json.loads(raw)) == depth
    assert not nests_deeper_than(raw, depth)
    assert nests_deeper_than(raw, depth - 1)
