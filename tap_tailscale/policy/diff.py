"""The change between two access relations: rows of one side that the other does not cover.

A row of `new` is covered by rows of `old` of the same kind whose source and destination
cover its own (targets.covers), whose conditions are a subset of its own (fewer conditions
is wider), and whose protocol, capability, login user and action allow at least as much;
the port ranges of all such rows are subtracted from the new row's range. What is left
became reachable. SSH: `accept` covers `check` but not the other way round, and
`autogroup:nonroot` covers every login user but `root`
(https://tailscale.com/kb/1193/tailscale-ssh, "users").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tap_tailscale.policy.ports import ANY_PROTO
from tap_tailscale.policy.relation import condition_text
from tap_tailscale.policy.targets import Atom, coverers

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_tailscale.policy.relation import Row

NONROOT = "autogroup:nonroot"


class Change(NamedTuple):
    """A row of one side, the port ranges of it the other side lacks, and what it had."""

    row: Row
    ranges: tuple[tuple[int, int], ...]
    was: str  # "" (nothing), or the closest access the other side had: "check", conditions


def _what_covers(old: Row, new: Row) -> bool:
    if new.kind == "ip":
        return old.what in (ANY_PROTO, new.what)
    if new.kind == "ssh":
        return old.what in (new.what, "*") or (old.what == NONROOT and new.what != "root")
    return old.what == new.what


def _detail_covers(old: Row, new: Row) -> bool:
    if new.kind == "ssh":
        return old.detail in (new.detail, "accept")
    return old.detail == new.detail


def _subtract(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    left = []
    for a, b in ranges:
        if hi < a or b < lo:
            left.append((a, b))
            continue
        if a < lo:
            left.append((a, lo - 1))
        if hi < b:
            left.append((hi + 1, b))
    return left


class Index:
    """The rows of one side, found by (kind, source, destination)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.by_key: dict[tuple[str, Atom, Atom], list[Row]] = {}
        nets: set[Atom] = set()
        for row in rows:
            self.by_key.setdefault((row.kind, row.src, row.dst), []).append(row)
            nets.update(atom for atom in (row.src, row.dst) if atom.kind == "net")
        self.nets = sorted(nets)
        self._coverers: dict[Atom, list[Atom]] = {}

    def _covering(self, atom: Atom) -> list[Atom]:
        found = self._coverers.get(atom)
        if found is None:
            found = self._coverers[atom] = coverers(atom, self.nets)
        return found

    def candidates(self, new: Row) -> list[Row]:
        """Rows whose source and destination cover `new`'s."""
        found: list[Row] = []
        for src in self._covering(new.src):
            for dst in self._covering(new.dst):
                found.extend(self.by_key.get((new.kind, src, dst), ()))
        return found

    def uncovered(self, new: Row) -> Change | None:
        """What of `new` no row here covers, or None when all of it is covered."""
        ranges = [(new.lo, new.hi)]
        near = [row for row in self.candidates(new) if _what_covers(row, new)]
        for old in near:
            if _detail_covers(old, new) and old.conds <= new.conds:
                ranges = _subtract(ranges, old.lo, old.hi)
                if not ranges:
                    return None
        return Change(new, tuple(ranges), _closest(near, new))


def _closest(near: list[Row], new: Row) -> str:
    for old in near:
        if old.lo <= new.lo and new.hi <= old.hi:
            if not _detail_covers(old, new):
                return old.detail
            if not old.conds <= new.conds:
                return "only " + " and ".join(sorted(map(condition_text, old.conds - new.conds)))
    return ""


def _identity(row: Row) -> tuple[object, ...]:
    return row[:8]  # what is allowed, without where it came from


def changes(old: Iterable[Row], new: Iterable[Row]) -> list[Change]:
    """Rows (or parts) of `new` that `old` does not allow."""
    old = list(old)
    index = Index(old)
    present = {_identity(row) for row in old}
    found = []
    seen: set[Row] = set()
    for row in new:
        if row in seen or _identity(row) in present:
            continue
        seen.add(row)
        change = index.uncovered(row)
        if change is not None:
            found.append(change)
    return found
