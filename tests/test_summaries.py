"""Summaries read as sentences: no word twice in a row, for every event type."""

from __future__ import annotations

import itertools
import re

import pytest

from tap_tailscale.admin_audit import EVENT_TYPES
from tap_tailscale.admin_audit.actions import TEMPLATES
from tap_tailscale.admin_audit.summary import fill
from tests.admin_events import record

_WORD = re.compile(r"\S+")


def repeated_words(sentence: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(sentence)]
    return [a for a, b in itertools.pairwise(words) if a == b]


def adversarial_names(ev: str) -> list[str]:
    """Target names that start with the word before each placeholder ("invite for x")."""
    template = TEMPLATES[ev]
    names = ["web-1.tail1a2b3.ts.net"]
    names += [f"{m.group(1)} for bob@example.com" for m in re.finditer(r"(\S+) \{t", template)]
    return names


@pytest.mark.parametrize("ev", EVENT_TYPES)
def test_no_summary_repeats_a_word(ev: str) -> None:
    target = record(ev)["target"]
    for name in adversarial_names(ev):
        for actor_type in ("USER", "NODE"):
            rec = record(
                ev,
                target={**target, "id": name, "name": name},
                actor={"id": "u1", "type": actor_type, "loginName": "alice@example.com"},
            )
            assert repeated_words(rec["summary"]) == [], rec["summary"]


def test_invite_names_read_once() -> None:
    rec = record(
        "INVITE.DELETE.NODE_SHARE",
        target={
            "id": "i1",
            "name": "invite for bob@example.com",
            "type": "INVITE",
            "property": "NODE_SHARE",
        },
    )
    assert rec["summary"] == "alice@example.com deleted device share invite for bob@example.com"


def test_fill_keeps_distinct_words() -> None:
    assert fill("delete invite {t}", {"t": "invitation 7"}) == "delete invite invitation 7"
    assert fill("{t} expired", {"t": "key"}) == "key expired"
    assert repeated_words("a b b c") == ["b"]
