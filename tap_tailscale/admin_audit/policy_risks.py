"""Risky policy changes, read from the access diff (tap_tailscale.policy.compare).

Each risk is a class of widening a reviewer must see, named by a code the detection rules
look up (rules.policy_risk); its detail names what became reachable. A narrowing, or a
change of comments or formatting only, widens nothing and so raises nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from tap_tailscale.policy import WIDER, Change, PolicyDelta, canonical, describe, section_list

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

# Remote shells, remote desktops, databases, cluster and container control planes.
SENSITIVE_PORTS = (
    22, 23, 135, 139, 445, 1433, 2375, 2376, 3306, 3389, 5432, 5900, 5985, 5986,
    6379, 6443, 9200, 10250, 27017,
)  # fmt: skip
# Capability values that hand out administration: Kubernetes' superuser group, and any
# role or permission named admin or owner.
ADMIN_WORDS = ("system:masters", "admin", "owner", "root")
WIDE_PREFIX = {4: 8, 6: 32}
_MAX_EXAMPLES = 3


class Risk(NamedTuple):
    """One kind of risky change and what shows it."""

    code: str
    detail: str


def _wide_destination(change: Change) -> bool:
    dst = change.row.dst
    if dst.kind in ("any", "internet"):
        return True
    if dst.kind != "net":
        return False
    version = 6 if ":" in dst.value else 4
    return int(dst.value.rpartition("/")[2] or 128) <= WIDE_PREFIX[version]


def _sensitive(change: Change) -> bool:
    return any(lo <= port <= hi for lo, hi in change.ranges for port in SENSITIVE_PORTS)


def _admin_capability(change: Change) -> bool:
    text = f"{change.row.what} {change.row.detail}".lower()
    return any(word in text for word in ADMIN_WORDS)


def _kind(*kinds: str) -> Callable[[Change], bool]:
    return lambda change: change.row.kind in kinds


_ACCESS = _kind("ip", "ssh", "app")
_CHECKS: tuple[tuple[str, Callable[[Change], bool]], ...] = (
    ("access_widened", _ACCESS),
    ("wide_destination", lambda c: c.row.kind == "ip" and _wide_destination(c)),
    ("any_source", lambda c: _ACCESS(c) and c.row.src.kind == "any"),
    ("sensitive_port", lambda c: c.row.kind == "ip" and _sensitive(c)),
    ("ssh_check_to_accept", lambda c: c.row.kind == "ssh" and c.was == "check"),
    ("ssh_root_added", lambda c: c.row.kind == "ssh" and c.row.what in ("root", "*")),
    ("admin_capability", lambda c: c.row.kind == "app" and _admin_capability(c)),
    ("funnel_enabled", lambda c: c.row.kind == "attr" and c.row.what == "funnel"),
    ("condition_removed", lambda c: c.was.startswith("only ")),
    ("auto_approvers_added", _kind("approver")),
)


def _summarize(items: list[str]) -> str:
    shown = "; ".join(items[:_MAX_EXAMPLES])
    more = len(items) - _MAX_EXAMPLES
    return f"{shown}; and {more} more" if more > 0 else shown


def _removed(old: list[Any], new: list[Any]) -> list[Any]:
    kept = {canonical(item) for item in new}
    return [item for item in old if canonical(item) not in kept]


def _tests_deleted(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Risk]:
    gone = [
        f"{len(lost)} {name} entries removed"
        for name in ("tests", "sshTests")
        if (lost := _removed(section_list(old, name), section_list(new, name)))
    ]
    if gone:
        yield Risk("tests_deleted", "; ".join(gone))


def policy_risks(delta: PolicyDelta, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Risk]:
    """The risky changes from `old` to `new`, each kind at most once."""
    risks = []
    for code, test in _CHECKS:
        hits = [change for change in delta.widened if test(change)]
        if hits:
            risks.append(Risk(code, _summarize(describe(hits, WIDER, delta.old_known))))
    risks.extend(_tests_deleted(old, new))
    return risks
