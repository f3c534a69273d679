"""Two policies compared by what they allow: the rows each side has that the other lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from tap_tailscale.policy.describe import NARROWER, WIDER, describe
from tap_tailscale.policy.diff import Change, changes
from tap_tailscale.policy.relation import Row, relation

if TYPE_CHECKING:
    from collections.abc import Mapping

_MAX_SENTENCES = 50


class PolicyDelta(NamedTuple):
    """What `new` allows that `old` did not (`widened`), and the reverse (`narrowed`)."""

    widened: list[Change]
    narrowed: list[Change]
    new_rows: list[Row]
    old_rows: list[Row]

    def became_reachable(self, limit: int = _MAX_SENTENCES) -> list[str]:
        """Reviewer sentences for the widening, at most `limit` plus a count of the rest."""
        return _capped(describe(self.widened, WIDER, self.old_rows), limit)

    def no_longer_reachable(self, limit: int = _MAX_SENTENCES) -> list[str]:
        """Reviewer sentences for the narrowing."""
        return _capped(describe(self.narrowed, NARROWER, self.new_rows), limit)


def _capped(sentences: list[str], limit: int) -> list[str]:
    if len(sentences) <= limit:
        return sentences
    return [*sentences[:limit], f"and {len(sentences) - limit} more"]


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> PolicyDelta:
    """The access change from `old` to `new`; no `old` (a first policy) allows nothing."""
    old_rows = relation(old) if old is not None else []
    new_rows = relation(new)
    return PolicyDelta(changes(old_rows, new_rows), changes(new_rows, old_rows), new_rows, old_rows)
