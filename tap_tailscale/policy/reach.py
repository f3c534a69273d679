"""How many users and devices an access change touches, counted on a snapshot of now.

The relation speaks of selectors (`group:eng`, `tag:prod`, `10.0.0.0/8`); a reviewer also
wants a size: "12 users now reach 40 devices". The counts match the changed rows' expanded
sources and destinations against a devices and users snapshot, which is from the time of
the sync, not of the event: devices and users may have come and gone since.

Only access rows count (`ip`, `ssh`, `app`); node attributes and auto-approvers open no
path from a user to a device. Matching (https://tailscale.com/docs/reference/targets-and-selectors.md):
- sources: a user is that user if the snapshot lists them; `*` every user;
  `autogroup:member` every user who is not shared-in; a role autogroup its users;
  `autogroup:shared` the shared-in users; a prefix the owners of untagged devices with an
  address in it (over-reporting: the device may not act for its owner). Tags are devices,
  not users: their owners are sources of their own (the evaluator expands them);
- destinations: a tag its devices; `autogroup:tagged` every tagged device; `*` every
  device; a user, a role or `autogroup:member` the untagged devices of those users
  (a tagged device belongs to its tags, not to who tagged it); `autogroup:self` the
  untagged devices of the row's source users; a prefix the devices with an address in it.
  `autogroup:internet`, services and anything not understood match no device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_tailscale.policy.targets import network

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tap_tailscale.policy.diff import Change
    from tap_tailscale.policy.targets import Atom

ACCESS_KINDS = frozenset({"ip", "ssh", "app"})


@dataclass(frozen=True)
class DeviceFacts:
    """What counting needs of one device: its owner's login, tags and addresses."""

    owner: str
    tags: frozenset[str]
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class UserFacts:
    """What counting needs of one user: login, role and type (`member` or `shared`)."""

    login: str
    role: str
    type: str


def device_facts(device: Any) -> DeviceFacts | None:
    """The facts of one API Device object; None for one that is not an object."""
    if not hasattr(device, "get"):
        return None
    tags = device.get("tags")
    addresses = device.get("addresses")
    return DeviceFacts(
        str(device.get("user") or "").lower(),
        frozenset(t.lower().removeprefix("tag:") for t in tags if isinstance(t, str))
        if isinstance(tags, list)
        else frozenset(),
        tuple(a for a in addresses if isinstance(a, str)) if isinstance(addresses, list) else (),
    )


def user_facts(user: Any) -> UserFacts | None:
    """The facts of one API User object; None without a login."""
    login = user.get("loginName") if hasattr(user, "get") else None
    if not isinstance(login, str) or not login:
        return None
    return UserFacts(login.lower(), str(user.get("role") or ""), str(user.get("type") or ""))


@dataclass
class ReachSnapshot:
    """The devices and users of one tailnet as one sync saw them."""

    synced_at: str
    devices: list[DeviceFacts] = field(default_factory=list)
    users: list[UserFacts] = field(default_factory=list)

    def note(self) -> str:
        """What the counts are counted on, said plainly."""
        return f"devices and users as of {self.synced_at} (this sync), not as of the event"


def _in(address: str, prefix: str) -> bool:
    net = network(prefix)
    try:
        return net is not None and ipaddress.ip_address(address) in net
    except ValueError:
        return False


_USER_MATCH: dict[str, Callable[[UserFacts, str], bool]] = {
    "any": lambda user, _: True,
    "member": lambda user, _: user.type != "shared",
    "shared": lambda user, _: user.type == "shared",
    "role": lambda user, value: user.role.lower() == value,
    "user": lambda user, value: user.login == value,
}


def source_users(atom: Atom, snap: ReachSnapshot) -> set[str]:
    """The logins of the snapshot's users a source atom stands for."""
    match = _USER_MATCH.get(atom.kind)
    if match is not None:
        return {user.login for user in snap.users if match(user, atom.value)}
    if atom.kind == "net":
        known = {user.login for user in snap.users}
        owners = {d.owner for d in snap.devices if not d.tags and _has(d, atom.value)}
        return owners & known
    return set()


def _has(device: DeviceFacts, prefix: str) -> bool:
    return any(_in(address, prefix) for address in device.addresses)


def dest_devices(atom: Atom, snap: ReachSnapshot, sources: set[str]) -> set[int]:
    """The snapshot's devices (by position) a destination atom stands for."""
    devices = list(enumerate(snap.devices))
    if atom.kind == "any":
        return {n for n, _ in devices}
    if atom.kind == "tag":
        return {n for n, d in devices if atom.value in d.tags}
    if atom.kind == "tagged":
        return {n for n, d in devices if d.tags}
    if atom.kind == "net":
        return {n for n, d in devices if _has(d, atom.value)}
    owners = _owners(atom, snap, sources)
    if owners is None:
        return set()
    return {n for n, d in devices if not d.tags and d.owner in owners}


def _owners(atom: Atom, snap: ReachSnapshot, sources: set[str]) -> set[str] | None:
    if atom.kind == "self":
        return sources
    if atom.kind in ("user", "role", "member", "shared"):
        return source_users(atom, snap)
    return None


def reach_counts(changed: Iterable[Change], snap: ReachSnapshot) -> tuple[int, int]:
    """(users, devices): distinct users with changed access, and devices they reach."""
    users: set[str] = set()
    devices: set[int] = set()
    for change in changed:
        row = change.row
        if row.kind not in ACCESS_KINDS:
            continue
        sources = source_users(row.src, snap)
        users |= sources
        devices |= dest_devices(row.dst, snap, sources)
    return len(users), len(devices)


def reach_summary(
    widened: list[Change], narrowed: list[Change], snap: ReachSnapshot
) -> dict[str, Any]:
    """The counts for `policy_changes.reach_now`, one pair per side that changed."""
    summary: dict[str, Any] = {}
    if widened:
        users, devices = reach_counts(widened, snap)
        summary["users_now_reaching"] = users
        summary["devices_now_reachable"] = devices
    if narrowed:
        users, devices = reach_counts(narrowed, snap)
        summary["users_no_longer_reaching"] = users
        summary["devices_no_longer_reachable"] = devices
    summary["snapshot"] = snap.note()
    return summary
