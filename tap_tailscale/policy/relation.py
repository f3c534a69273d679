"""The access relation of one policy: who reaches what, on which ports, under which conditions.

Every rule is an allow rule and the relation is their union; nothing removes access that
another rule gives (https://tailscale.com/docs/features/access-control/grants/grants-explained.md).
Rows by kind:
- `ip`: network access from `acls` (action accept; https://tailscale.com/docs/reference/syntax/policy-file.md)
  and from grants' `ip` (https://tailscale.com/docs/reference/syntax/grants.md);
- `app`: an application capability from grants' `app`, one row per capability value;
- `ssh`: Tailscale SSH as a login user, with `accept` or `check`
  (https://tailscale.com/kb/1193/tailscale-ssh, section "ssh");
- `attr`: a node attribute (`nodeAttrs` `attr`, or its `app` capability) on a target;
- `approver`: who may auto-approve a route, an exit node or a service (`autoApprovers`).
Conditions: `srcPosture` (or the policy's `defaultSrcPosture` when a rule names none), with
each posture's definition, and a grant's `via`. A condition narrows; losing one widens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from tap_tailscale.policy.document import canonical, field, section_list, section_map, strings
from tap_tailscale.policy.ports import (
    ALL_PORTS,
    ANY_PROTO,
    PortRange,
    ip_entry,
    port_ranges,
    proto_name,
    split_destination,
)
from tap_tailscale.policy.resolve import Expansion, Resolver
from tap_tailscale.policy.targets import EXIT, NODE, Atom, net_atom, network

NO_CONDITIONS: frozenset[str] = frozenset()


def condition_text(cond: str) -> str:
    """A condition as a reviewer reads it: posture names without their definitions."""
    kind, _, rest = cond.partition(" ")
    if kind != "posture":
        return cond
    return "posture " + " or ".join(part.split("=", 1)[0] for part in rest.split(" or "))


class Row(NamedTuple):
    """One element of the access relation, with where it came from."""

    kind: str
    src: Atom
    dst: Atom
    what: str  # ip: protocol; app: capability; ssh: login user; attr: attribute; approver: kind
    lo: int
    hi: int
    detail: str  # app: the capability value; ssh: accept or check
    conds: frozenset[str]
    src_label: str
    src_how: str
    dst_label: str
    dst_how: str


class Rule(NamedTuple):
    """The parts of one rule that every row of it shares."""

    kind: str
    sources: tuple[tuple[str, Expansion], ...]
    targets: tuple[tuple[str, Expansion], ...]
    conds: frozenset[str]


def _rows(rule: Rule, what: str, lo: int, hi: int, detail: str) -> Iterator[Row]:
    for src_label, src in rule.sources:
        for dst_label, dst in rule.targets:
            yield Row(
                rule.kind, src.atom, dst.atom, what, lo, hi, detail, rule.conds,
                src_label, src.how, dst_label, dst.how,
            )  # fmt: skip


class RelationBuilder:
    """Builds the rows of one parsed policy."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self.policy = policy
        self.resolve = Resolver(policy)
        self.postures = {k.lower(): v for k, v in section_map(policy, "postures").items()}
        self.default_posture = strings(field(policy, "defaultSrcPosture"))

    def sources(self, value: Any) -> tuple[tuple[str, Expansion], ...]:
        """Every (selector, expansion) of a source list."""
        return tuple((s, e) for s in strings(value) for e in self.resolve.source(s))

    def targets(self, value: Any) -> tuple[tuple[str, Expansion], ...]:
        """Every (selector, expansion) of a destination list."""
        return tuple((s, e) for s in strings(value) for e in self.resolve.destination(s))

    def conditions(self, rule: Mapping[str, Any]) -> frozenset[str]:
        """The rule's posture and `via` conditions, as comparable texts."""
        names = strings(field(rule, "srcPosture")) or self.default_posture
        found = set()
        if names:
            defs = sorted(f"{n}={canonical(self.postures.get(n.lower()))}" for n in names)
            found.add("posture " + " or ".join(defs))
        via = strings(field(rule, "via"))
        if via:
            found.add("via " + " or ".join(sorted(via)))
        return frozenset(found)

    def acl(self, rule: Mapping[str, Any]) -> Iterator[Row]:
        """Rows of one `acls` entry (only `accept` grants anything)."""
        if str(field(rule, "action") or "accept").strip().lower() != "accept":
            return
        sources = self.sources(field(rule, "src", "users"))
        proto = proto_name(field(rule, "proto"))
        conds = self.conditions(rule)
        for dst in strings(field(rule, "dst", "ports")):
            host, ports = split_destination(dst)
            built = Rule("ip", sources, self.targets(host), conds)
            for part in port_ranges(ports, proto):
                yield from _rows(built, part.proto, part.lo, part.hi, "")

    def grant(self, grant: Mapping[str, Any]) -> Iterator[Row]:
        """Rows of one `grants` entry: its `ip` ranges and its `app` capabilities."""
        conds = self.conditions(grant)
        sources, targets = self.sources(field(grant, "src")), self.targets(field(grant, "dst"))
        network_rule = Rule("ip", sources, targets, conds)
        for entry in strings(field(grant, "ip")):
            for part in ip_entry(entry):
                yield from _rows(network_rule, part.proto, part.lo, part.hi, "")
        app = field(grant, "app")
        if isinstance(app, Mapping):
            app_rule = Rule("app", sources, targets, conds)
            for cap, values in app.items():
                for value in values if isinstance(values, list) else [values]:
                    yield from _rows(app_rule, str(cap), *ALL_PORTS, canonical(value))

    def ssh(self, rule: Mapping[str, Any]) -> Iterator[Row]:
        """Rows of one `ssh` entry: one per login user."""
        action = str(field(rule, "action") or "").strip().lower()
        built = Rule(
            "ssh", self.sources(field(rule, "src")), self.targets(field(rule, "dst")),
            self.conditions(rule),
        )  # fmt: skip
        for user in strings(field(rule, "users")):
            yield from _rows(built, user.strip().lower(), *ALL_PORTS, action)

    def node_attrs(self, entry: Mapping[str, Any]) -> Iterator[Row]:
        """Rows of one `nodeAttrs` entry: its attributes and capabilities per target."""
        targets = self.targets(field(entry, "target"))
        built = Rule("attr", targets, ((NODE.text(), Expansion(NODE, "")),), NO_CONDITIONS)
        for attr in strings(field(entry, "attr")):
            yield from _rows(built, attr.strip().lower(), *ALL_PORTS, "")
        app = field(entry, "app")
        if isinstance(app, Mapping):
            for cap, value in app.items():
                yield from _rows(built, str(cap), *ALL_PORTS, canonical(value))

    def approvers(self) -> Iterator[Row]:
        """Rows of `autoApprovers`: routes (by prefix), exit nodes and services."""
        section = section_map(self.policy, "autoApprovers")
        exit_rule = Rule("approver", self.sources(field(section, "exitNode")),
                         ((EXIT.text(), Expansion(EXIT, "")),), NO_CONDITIONS)  # fmt: skip
        yield from _rows(exit_rule, "exitNode", *ALL_PORTS, "")
        for kind in ("routes", "services"):
            entries = field(section, kind)
            for name, who in entries.items() if isinstance(entries, Mapping) else ():
                net = network(str(name)) if kind == "routes" else None
                atom = net_atom(net) if net is not None else Atom(kind[:-1], str(name))
                target = ((str(name), Expansion(atom, "")),)
                built = Rule("approver", self.sources(who), target, NO_CONDITIONS)
                yield from _rows(built, kind, *ALL_PORTS, "")


def relation(policy: Mapping[str, Any]) -> list[Row]:
    """Every row of `policy`'s access relation."""
    build = RelationBuilder(policy)
    rows: list[Row] = []
    for rule in section_list(policy, "acls"):
        rows.extend(build.acl(rule))
    for grant in section_list(policy, "grants"):
        rows.extend(build.grant(grant))
    for rule in section_list(policy, "ssh"):
        rows.extend(build.ssh(rule))
    for entry in section_list(policy, "nodeAttrs"):
        rows.extend(build.node_attrs(entry))
    rows.extend(build.approvers())
    return rows


__all__ = ["ANY_PROTO", "NO_CONDITIONS", "PortRange", "Row", "relation"]
