"""The audit event types the `event` filter knows, and the filter itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_tailscale.admin_audit import EVENT_TYPES

if TYPE_CHECKING:
    from collections.abc import Mapping

# The `event` filter enum of the API spec. The tap's event table is its single source, so
# the emulator generates exactly the events the tap knows how to name.
EVENT_TYPE_SET = frozenset(EVENT_TYPES)
PARTS: tuple[tuple[str, str, str], ...] = tuple(
    (p[0], p[1], p[2] if len(p) > 2 else "") for p in (t.split(".") for t in EVENT_TYPES)
)
POLICY_UPDATE = "TAILNET.UPDATE.ACL"


@dataclass(frozen=True)
class ConfigFilter:
    """The optional `actor`, `target` and `event` query filters (OR within, AND across)."""

    actor: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    event: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actor or self.target or self.event)

    def matches(self, ev: Mapping[str, Any]) -> bool:
        """Whether one configuration event passes every given filter."""
        if self.event and event_type_of(ev) not in self.event:
            return False
        if self.actor and not any(_actor_matches(ev.get("actor") or {}, a) for a in self.actor):
            return False
        if self.target:
            tgt = ev.get("target") or {}
            hay = (str(tgt.get("id", "")).lower(), str(tgt.get("name", "")).lower())
            if not any(t.lower() in h for t in self.target for h in hay):
                return False
        return True


def event_type_of(ev: Mapping[str, Any]) -> str:
    """The `TARGETTYPE.ACTION[.PROPERTY]` string the `event` filter compares with."""
    tgt = ev.get("target") or {}
    key = f"{tgt.get('type', '')}.{ev.get('action', '')}"
    prop = tgt.get("property")
    return f"{key}.{prop}" if prop else key


def _actor_matches(actor: Mapping[str, Any], wanted: str) -> bool:
    if wanted.startswith("~"):
        needle = wanted[1:].lower()
        return (
            needle in str(actor.get("loginName", "")).lower()
            or needle in str(actor.get("displayName", "")).lower()
        )
    return actor.get("id") == wanted
