"""Two policies compared by what they allow: the rows each side has that the other lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tap_tailscale.policy.describe import NARROWER, WIDER, Known, describe, known
from tap_tailscale.policy.diff import Change, changes
from tap_tailscale.policy.relation import Row, relation

if TYPE_CHECKING:
    from collections.abc import Mapping

_MAX_SENTENCES = 50


@dataclass
class PolicyDelta:
    """What `new` allows that `old` did not (`widened`), and the reverse (`narrowed`)."""

    widened: list[Change]
    narrowed: list[Change]
    new_rows: list[Row] = field(repr=False)
    old_rows: list[Row] = field(repr=False)

    @cached_property
    def old_known(self) -> Known:
        """What the old relation has, for describing the widening."""
        return known(self.old_rows)

    @cached_property
    def new_known(self) -> Known:
        """What the new relation has, for describing the narrowing."""
        return known(self.new_rows)

    def became_reachable(self, limit: int = _MAX_SENTENCES) -> list[str]:
        """Reviewer sentences for the widening, at most `limit` plus a count of the rest."""
        return _capped(describe(self.widened, WIDER, self.old_known), limit)

    def no_longer_reachable(self, limit: int = _MAX_SENTENCES) -> list[str]:
        """Reviewer sentences for the narrowing."""
        return _capped(describe(self.narrowed, NARROWER, self.new_known), limit)


def _capped(sentences: list[str], limit: int) -> list[str]:
    if len(sentences) <= limit:
        return sentences
    return [*sentences[:limit], f"and {len(sentences) - limit} more"]


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> PolicyDelta:
    """The access change from `old` to `new`; no `old` (a first policy) allows nothing."""
    old_rows = relation(old) if old is not None else []
    new_rows = relation(new)
    return PolicyDelta(changes(old_rows, new_rows), changes(new_rows, old_rows), new_rows, old_rows)
