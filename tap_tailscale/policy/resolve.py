"""Expanding selectors (`group:eng`, `tag:prod`, a host alias, an IP set) into atoms.

Sources (https://tailscale.com/docs/reference/targets-and-selectors.md and
https://tailscale.com/docs/features/tailnet-policy-file/ip-sets.md):
- a group is its members; groups do not nest in Tailscale, but a nested one is expanded
  anyway rather than missed. A group the policy does not define (Tailscale would refuse
  the file) stays an opaque target, so defining it later reads as a widening;
- a tag used as a *source* also stands for every owner in `tagOwners`: an owner may tag
  a device of theirs and so act as the tag (tags owned by tags are followed). Widening a
  tag's owners therefore widens what its rules open. As a destination a tag is the tag.
- a host alias is its address or prefix; an IP set is the union of its entries (addresses,
  prefixes, `a-b` ranges, `host:` aliases, other IP sets, `autogroup:internet`). Its
  `remove` entries are ignored, which can only make the set look wider;
- `autogroup:members` is read as `autogroup:member`, as the client library's test policy
  writes it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, NamedTuple

from tap_tailscale.policy.document import section_map, strings
from tap_tailscale.policy.targets import (
    ANY,
    INTERNET,
    MEMBER,
    SELF,
    SHARED,
    TAGGED,
    Atom,
    net_atom,
    network,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_AUTOGROUPS = {
    "autogroup:danger-all": ANY,
    "autogroup:member": MEMBER,
    "autogroup:members": MEMBER,
    "autogroup:tagged": TAGGED,
    "autogroup:self": SELF,
    "autogroup:internet": INTERNET,
    "autogroup:shared": SHARED,
}
_MAX_DEPTH = 16


class Expansion(NamedTuple):
    """One atom a selector stands for, and how: `""` (the selector itself), `member` (of
    a group) or `tag owner`."""

    atom: Atom
    how: str


def _range(text: str) -> list[Atom]:
    lo, _, hi = text.partition("-")
    try:
        first, last = ipaddress.ip_address(lo.strip()), ipaddress.ip_address(hi.strip())
        return [net_atom(net) for net in ipaddress.summarize_address_range(first, last)]
    except (ValueError, TypeError):
        return []


class Resolver:
    """The selector expansion of one policy."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self.groups = {k.lower(): v for k, v in section_map(policy, "groups").items()}
        self.owners = {k.lower(): v for k, v in section_map(policy, "tagOwners").items()}
        self.hosts = dict(section_map(policy, "hosts"))
        self.ipsets = {k.lower(): v for k, v in section_map(policy, "ipsets").items()}
        self._cache: dict[tuple[str, bool], tuple[Expansion, ...]] = {}

    def source(self, selector: str) -> tuple[Expansion, ...]:
        """What a source selector stands for, tag owners included."""
        return self._expand(selector, owners=True)

    def destination(self, selector: str) -> tuple[Expansion, ...]:
        """What a destination selector stands for."""
        return self._expand(selector, owners=False)

    def _expand(self, selector: str, *, owners: bool) -> tuple[Expansion, ...]:
        key = (selector, owners)
        cached = self._cache.get(key)
        if cached is None:
            found = dict.fromkeys(self._walk(selector.strip(), "", owners, set()))
            cached = self._cache[key] = tuple(found)
        return cached

    def _walk(self, sel: str, how: str, owners: bool, seen: set[str]) -> Iterator[Expansion]:
        low = sel.lower()
        if low in seen or len(seen) > _MAX_DEPTH:
            return
        if low == "*" or low in _AUTOGROUPS:
            yield Expansion(_AUTOGROUPS.get(low, ANY), how)
        elif low.startswith("autogroup:"):
            yield Expansion(Atom("role", low.partition(":")[2]), how)
        elif low.startswith("group:") and low not in self.groups:
            yield Expansion(Atom("other", low), how)
        elif low.startswith("group:"):
            for member in strings(self.groups.get(low)):
                yield from self._walk(member, how or "member", owners, seen | {low})
        elif low.startswith("tag:"):
            yield Expansion(Atom("tag", low[4:]), how)
            if owners:
                for owner in strings(self.owners.get(low)):
                    yield from self._walk(owner, how or "tag owner", owners, seen | {low})
        elif low.startswith("svc:"):
            yield Expansion(Atom("svc", low[4:]), how)
        elif "@" in sel:
            yield Expansion(Atom("user", low), how)
        else:
            yield from (Expansion(atom, how) for atom in self._addresses(sel, seen | {low}))

    def _addresses(self, sel: str, seen: set[str]) -> list[Atom]:
        low = sel.lower()
        if low.startswith("ipset:"):
            return self._ipset(low, seen)
        name = sel[5:] if low.startswith("host:") else sel
        if name in self.hosts and isinstance(self.hosts[name], str):
            sel = self.hosts[name]
        net = network(sel)
        if net is not None:
            return [net_atom(net)]
        return _range(sel) if "-" in sel else [Atom("other", sel)]

    def _ipset(self, name: str, seen: set[str]) -> list[Atom]:
        atoms: list[Atom] = []
        for raw in strings(self.ipsets.get(name)):
            verb, _, rest = raw.strip().partition(" ")
            if verb.lower() == "remove" and rest:
                continue
            entry = rest.strip() if verb.lower() == "add" and rest else raw.strip()
            if entry.lower() in _AUTOGROUPS:
                atoms.append(_AUTOGROUPS[entry.lower()])
            elif entry.lower() not in seen and len(seen) <= _MAX_DEPTH:
                atoms.extend(self._addresses(entry, seen | {entry.lower()}))
        return atoms
