"""Risky policy changes: access that the new policy grants and the old one did not.

Both policies are flattened into access tuples (source, destination host, port range)
from `acls` and `grants`. A tuple of the new policy is *new access* unless some tuple
of the old policy covers it: same or `*` source, same or `*` destination (`*` does not
cover `autogroup:internet`, which Tailscale keeps separate), and a port range that
contains it. Narrowing a rule therefore raises nothing, while widening it does.
Protocols are ignored, which can only over-report.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from tap_tailscale.admin_audit.policy_changes import canonical, entries, section

ALL_PORTS = (0, 65535)
ANY = "*"
INTERNET = "autogroup:internet"
# Remote shells, remote desktops, databases, cluster and container control planes.
SENSITIVE_PORTS = (
    22, 23, 135, 139, 445, 1433, 2375, 2376, 3306, 3389, 5432, 5900, 5985, 5986,
    6379, 6443, 9200, 10250, 27017,
)  # fmt: skip
_MAX_EXAMPLES = 3


class Access(NamedTuple):
    """One source allowed to reach one destination host on a port range."""

    src: str
    dst: str
    ports: tuple[int, int]

    def describe(self) -> str:
        lo, hi = self.ports
        ports = "*" if self.ports == ALL_PORTS else str(lo) if lo == hi else f"{lo}-{hi}"
        return f"{self.src} -> {self.dst}:{ports}"


class Risk(NamedTuple):
    """One kind of risky change and what shows it."""

    code: str
    detail: str


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def parse_ports(spec: str) -> Iterator[tuple[int, int]]:
    """Port ranges of `*`, `22`, `80,443` or `1000-2000`; malformed parts are skipped."""
    for raw in spec.split(","):
        part = raw.strip()
        if part == ANY:
            yield ALL_PORTS
            continue
        lo, _, hi = part.partition("-")
        if lo.isdigit() and (hi or lo).isdigit():
            yield int(lo), int(hi or lo)


def _acl_access(rule: Mapping[str, Any]) -> Iterator[Access]:
    if str(rule.get("action", "accept")).lower() != "accept":
        return
    sources = _strings(rule.get("src", rule.get("users")))
    for dst in _strings(rule.get("dst", rule.get("ports"))):
        host, colon, ports = dst.rpartition(":")
        if not colon:
            host, ports = dst, ANY
        for src in sources:
            for port_range in parse_ports(ports):
                yield Access(src, host, port_range)


def _grant_access(grant: Mapping[str, Any]) -> Iterator[Access]:
    # Grants with only `app` capabilities open no network ports.
    ips = _strings(grant.get("ip"))
    for src in _strings(grant.get("src")):
        for dst in _strings(grant.get("dst")):
            for ip in ips:
                ports = ip.rpartition(":")[2]
                for port_range in parse_ports(ports):
                    yield Access(src, dst, port_range)


def access(policy: Mapping[str, Any]) -> set[Access]:
    """Every access tuple the policy's rules and grants allow."""
    result: set[Access] = set()
    for rule in entries(policy, "acls"):
        if isinstance(rule, Mapping):
            result.update(_acl_access(rule))
    for grant in entries(policy, "grants"):
        if isinstance(grant, Mapping):
            result.update(_grant_access(grant))
    return result


def new_access(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Access]:
    """Tuples of `new` that no tuple of `old` covers, in a stable order."""
    index: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for item in access(old):
        index.setdefault((item.src, item.dst), []).append(item.ports)

    def covered(item: Access) -> bool:
        hosts = (item.dst,) if item.dst == INTERNET else (item.dst, ANY)
        lo, hi = item.ports
        return any(
            r_lo <= lo and hi <= r_hi
            for src in (item.src, ANY)
            for host in hosts
            for r_lo, r_hi in index.get((src, host), ())
        )

    return sorted(item for item in access(new) if not covered(item))


def _sensitive(ports: tuple[int, int]) -> bool:
    return any(ports[0] <= port <= ports[1] for port in SENSITIVE_PORTS)


def _ssh_rules(policy: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    rules: dict[tuple[str, str, str], str] = {}
    for rule in entries(policy, "ssh"):
        if not isinstance(rule, Mapping):
            continue
        action = str(rule.get("action", "")).lower()
        for src in _strings(rule.get("src")):
            for dst in _strings(rule.get("dst")):
                for user in _strings(rule.get("users")):
                    rules[(src, dst, user)] = action
    return rules


def _auto_approvers(policy: Mapping[str, Any]) -> set[tuple[str, str]]:
    value = section(policy, "autoApprovers")
    if not isinstance(value, Mapping):
        return set()
    found = {("exitNode", who) for who in _strings(value.get("exitNode"))}
    routes = value.get("routes")
    if isinstance(routes, Mapping):
        found.update((f"route {cidr}", who) for cidr, v in routes.items() for who in _strings(v))
    return found


def _summarize(items: list[str]) -> str:
    shown = "; ".join(items[:_MAX_EXAMPLES])
    more = len(items) - _MAX_EXAMPLES
    return f"{shown}; and {more} more" if more > 0 else shown


def _ssh_risks(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Risk]:
    before, after = _ssh_rules(old), _ssh_rules(new)
    loosened = [
        f"{src} -> {dst} as {user}"
        for (src, dst, user), action in sorted(after.items())
        if action == "accept" and before.get((src, dst, user)) == "check"
    ]
    if loosened:
        yield Risk("ssh_check_to_accept", _summarize(loosened))
    root = [
        f"{src} -> {dst}" for (src, dst, user) in sorted(set(after) - set(before)) if user == "root"
    ]
    if root:
        yield Risk("ssh_root_added", _summarize(root))


def _removed(old: list[Any], new: list[Any]) -> list[Any]:
    kept = {canonical(item) for item in new}
    return [item for item in old if canonical(item) not in kept]


def policy_risks(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Risk]:
    """The risky changes from `old` to `new`, each kind at most once."""
    widened = new_access(old, new)
    risks = []
    checks = (
        ("wide_destination", lambda a: a.dst in (ANY, INTERNET)),
        ("any_source", lambda a: a.src == ANY),
        ("sensitive_port", lambda a: _sensitive(a.ports)),
    )
    for code, test in checks:
        hits = [item.describe() for item in widened if test(item)]
        if hits:
            risks.append(Risk(code, _summarize(hits)))
    risks.extend(_ssh_risks(old, new))
    approvers = sorted(_auto_approvers(new) - _auto_approvers(old))
    if approvers:
        risks.append(Risk("auto_approvers_added", _summarize([f"{k}: {w}" for k, w in approvers])))
    gone = [
        f"{len(lost)} {name} entries removed"
        for name in ("tests", "sshTests")
        if (lost := _removed(entries(old, name), entries(new, name)))
    ]
    if gone:
        risks.append(Risk("tests_deleted", "; ".join(gone)))
    return risks
