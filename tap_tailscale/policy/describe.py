"""Changes in reviewer words, one sentence per rule part.

Changes that share a kind, selectors, protocol, capability and conditions are told
together, e.g. `group:eng (now with mallory@example.com) → tag:prod:443, was not
reachable`: the parenthesis names the members, tag owners or addresses a selector now
stands for that made the difference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tap_tailscale.policy.ports import ANY_PROTO, PortRange
from tap_tailscale.policy.relation import condition_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_tailscale.policy.diff import Change
    from tap_tailscale.policy.relation import Row

ARROW = "\N{RIGHTWARDS ARROW}"
_MAX_NAMES = 5
_VERB = {"app": "granted", "attr": "set", "approver": "allowed"}


class Words(NamedTuple):
    """The words of one direction of change."""

    now: str  # "now with" / "no longer with"
    was_not: str  # "was not reachable" / "no longer reachable"


WIDER = Words("now with", "was not reachable")
NARROWER = Words("no longer with", "no longer reachable")


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMES])
    more = len(items) - _MAX_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def _side(label: str, parts: dict[str, str], words: Words) -> str:
    extra = [f"{text} as tag owner" if how == "tag owner" else text for text, how in parts.items()]
    return f"{label} ({words.now} {_names(extra)})" if extra else label


def _ports(ranges: Iterable[tuple[int, int]], proto: str) -> str:
    text = ",".join(PortRange(proto, lo, hi).ports_text() for lo, hi in sorted(set(ranges)))
    return text if proto == ANY_PROTO else f"{text}/{proto}"


def _object(row: Row, ranges: list[tuple[int, int]]) -> str:
    if row.kind == "ip":
        return ":" + _ports(ranges, row.what)
    if row.kind == "ssh":
        return f": SSH as {row.what} ({row.detail or 'no action'})"
    if row.kind == "app":
        return f": capability {row.what} {row.detail}"
    if row.kind == "attr":
        return f"node attribute {row.what}" + (f" {row.detail}" if row.detail else "")
    return f": may auto-approve {row.what}"


def _conditions(row: Row) -> str:
    return f" if {' and '.join(sorted(map(condition_text, row.conds)))}" if row.conds else ""


class _Group:
    def __init__(self, first: Change) -> None:
        self.first = first.row
        self.src: dict[str, str] = {}
        self.dst: dict[str, str] = {}
        self.ranges: list[tuple[int, int]] = []
        self.was = first.was

    def add(self, change: Change, seen: frozenset[tuple[str, str, str]]) -> None:
        row = change.row
        src, dst = row.src.text(), row.dst.text()
        if src != row.src_label and (row.kind, row.src_label, src) not in seen:
            self.src.setdefault(src, row.src_how)
        if dst != row.dst_label and (row.kind, row.dst_label, dst) not in seen:
            self.dst.setdefault(dst, row.dst_how)
        self.ranges.extend(change.ranges)

    def sentence(self, words: Words, *, known: bool) -> str:
        row = self.first
        if not known:
            # A rule the other side lacks is named by its selectors, not spelled out.
            self.src, self.dst = {}, {}
        src = _side(row.src_label, self.src, words)
        was = words.was_not.replace("reachable", _VERB.get(row.kind, "reachable"))
        if self.was:
            was = f"was {self.was}" if words is WIDER else f"now {self.was}"
        if row.kind == "attr":
            return f"{src}: {_object(row, self.ranges)}, {was}"
        dst = _side(row.dst_label, self.dst, words) if row.dst_label else ""
        return f"{src} {ARROW} {dst}{_object(row, self.ranges)}{_conditions(row)}, {was}"


def _key(row: Row) -> tuple[object, ...]:
    return (row.kind, row.src_label, row.dst_label, row.what, row.detail, row.conds)


class Known(NamedTuple):
    """What the relation compared against has: rules by selectors, and selector members."""

    rules: frozenset[tuple[str, str, str, str]]
    members: frozenset[tuple[str, str, str]]  # (kind, selector, atom)


def known(rows: Iterable[Row]) -> Known:
    """The `Known` of a relation, computed once per relation."""
    rules: set[tuple[str, str, str, str]] = set()
    members: set[tuple[str, str, str]] = set()
    for r in rows:
        rules.add((r.kind, r.src_label, r.dst_label, r.what))
        members.add((r.kind, r.src_label, r.src.text()))
        members.add((r.kind, r.dst_label, r.dst.text()))
    return Known(frozenset(rules), frozenset(members))


NOTHING_KNOWN = Known(frozenset(), frozenset())


def describe(
    found: Iterable[Change], words: Words = WIDER, other: Known = NOTHING_KNOWN
) -> list[str]:
    """One sentence per group of changes, in the order the rules came.

    `other` is what the relation compared against has (`known`): where it has no rule
    with the same selectors, the sentence names the selectors alone; where it has, it
    also names the members, tag owners or addresses they now stand for that made the
    difference.
    """
    groups: dict[tuple[object, ...], _Group] = {}
    for change in found:
        key = _key(change.row)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(change)
        group.add(change, other.members)
    return [group.sentence(words, known=key[:4] in other.rules) for key, group in groups.items()]
