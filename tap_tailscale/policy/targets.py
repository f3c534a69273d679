"""Targets after expansion (`Atom`), and which target covers which.

The kinds follow https://tailscale.com/docs/reference/targets-and-selectors.md:
- `any`: `*`, and `autogroup:danger-all` ("all devices, even those outside your tailnet");
- `member`: `autogroup:member`, every user of the tailnet; it covers each `user` and each
  role autogroup (`autogroup:admin`, `autogroup:owner`, ...), whose users are members;
- `tagged`: `autogroup:tagged`, every tagged device; it covers each `tag`;
- `self`: `autogroup:self`, the source user's own devices (destinations only);
- `internet`: `autogroup:internet`, public addresses reached through exit nodes. `*` is
  not taken to cover it, so a rule that adds it is always reported (over-reporting);
- `shared`: `autogroup:shared`, users who shared a device into the tailnet;
- `user`, `tag`, `net` (an IP prefix), `svc` (a Tailscale Service), `role`, `exit` (the
  exit-node right of auto-approvers), `node` (no target) and `other` (anything not
  understood, which only `any` or the same text covers).
Containment is never guessed beyond these rules, so an unknown case reads as new access.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Atom(NamedTuple):
    """One expanded target."""

    kind: str
    value: str

    def text(self) -> str:
        """The target as the policy would spell it."""
        if self.kind in ("user", "net", "other"):
            return self.value
        if self.kind in ("tag", "svc"):
            return f"{self.kind}:{self.value}"
        if self.kind == "role":
            return f"autogroup:{self.value}"
        return _NAMES.get(self.kind, self.value or self.kind)


ANY = Atom("any", "*")
MEMBER = Atom("member", "")
TAGGED = Atom("tagged", "")
SELF = Atom("self", "")
INTERNET = Atom("internet", "")
SHARED = Atom("shared", "")
EXIT = Atom("exit", "")
NODE = Atom("node", "")
_NAMES = {
    "any": "*",
    "member": "autogroup:member",
    "tagged": "autogroup:tagged",
    "self": "autogroup:self",
    "internet": "autogroup:internet",
    "shared": "autogroup:shared",
    "exit": "exit nodes",
    "node": "",
}
_MEMBER_KINDS = frozenset({"user", "role", "self"})


@lru_cache(maxsize=8192)
def network(text: str) -> Network | None:
    """The IP prefix `text` names (an address is a /32 or /128), or None."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def net_atom(net: Network) -> Atom:
    """The atom of one prefix."""
    return Atom("net", str(net))


@lru_cache(maxsize=8192)
def _span(text: str) -> tuple[int, int, int] | None:
    net = network(text)
    if net is None:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


def _within(inner: str, outer: str) -> bool:
    small, big = _span(inner), _span(outer)
    if small is None or big is None or small[0] != big[0]:
        return False
    return big[1] <= small[1] and small[2] <= big[2]


def covers(old: Atom, new: Atom) -> bool:
    """Whether every device or address `new` selects is also selected by `old`."""
    if old == new:
        return True
    if old.kind == "any":
        return new.kind != "internet"
    if old.kind == "member":
        return new.kind in _MEMBER_KINDS
    if old.kind == "tagged":
        return new.kind == "tag"
    if old.kind == "net" and new.kind == "net":
        return _within(new.value, old.value)
    return False


def coverers(new: Atom, old_nets: Iterable[Atom]) -> list[Atom]:
    """Every atom that could cover `new`: itself, its autogroups, and enclosing prefixes."""
    found = [new]
    if new.kind != "internet" and new != ANY:
        found.append(ANY)
    if new.kind in _MEMBER_KINDS:
        found.append(MEMBER)
    elif new.kind == "tag":
        found.append(TAGGED)
    elif new.kind == "net":
        found.extend(net for net in old_nets if net != new and _within(new.value, net.value))
    return found
