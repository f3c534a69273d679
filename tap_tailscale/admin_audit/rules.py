"""Detection rules for `admin_audit`: one table, read top to bottom.

Each rule names the event types it looks at (shell-style patterns over
`TARGET.ACTION[.PROPERTY]`), an optional condition on the event, a default severity
and MITRE ATT&CK technique IDs. Event values are Tailscale's own, as the API spec
spells them (`TKA`, not `TAILNET_LOCK`; `DELETE`, not `REMOVE`; target type
`API_KEY` for API keys, OAuth clients and auth keys alike). docs/detections.md is
generated from this table; `severity_overrides` can switch a rule off or re-rate it
with a key such as `rule:TS-LOG-001`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Condition = Callable[["Facts"], str | bool]

ADMIN_ROLES = frozenset({"owner", "admin", "it-admin", "network-admin"})
DEFAULT_ROUTES = frozenset({"0.0.0.0/0", "::/0"})
_SCOPES_TEXT = re.compile(r"scopes?\s*[:=]\s*(.+)", re.IGNORECASE)
_SCOPE = re.compile(r"[a-z][a-z_]*(?::[a-z_]+)*")


@dataclass(frozen=True)
class Facts:
    """What the rules may look at for one event, already normalized."""

    event_type: str
    known: bool
    actor_type: str | None
    origin: str | None
    failed: bool
    old: Any
    new: Any
    details: str | None
    policy_risks: Mapping[str, str] = field(default_factory=dict)
    policy_error: str | None = None


class Rule(NamedTuple):
    """One detection rule."""

    rule_id: str
    title: str
    severity: str
    attack: tuple[str, ...]
    events: tuple[str, ...]
    when: Condition | None = None
    description: str = ""

    def matches(self, event_type: str) -> bool:
        """Whether the rule looks at this event type at all."""
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.events)


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a JSON value, at any depth."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k), v
            yield from _walk(v)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _scopes(facts: Facts) -> list[str]:
    found = [
        str(s)
        for k, v in _walk(facts.new)
        if k == "scopes"
        for s in (v if isinstance(v, list) else [v])
    ]
    listed = _SCOPES_TEXT.search(facts.details or "")
    if listed is not None:
        found += _SCOPE.findall(listed.group(1).lower())
    return found


def write_scopes(facts: Facts) -> str | bool:
    """A key whose scopes include anything beyond read access."""
    writes = sorted({s for s in _scopes(facts) if not s.endswith(":read")})
    return f"scopes: {', '.join(writes)}" if writes else False


def reusable_or_preauthorized(facts: Facts) -> str | bool:
    """An auth key that can add many devices, or add them without approval."""
    flags = sorted(
        {k for k, v in _walk(facts.new) if k in ("reusable", "preauthorized") and v is True}
    )
    return ", ".join(flags) if flags else False


def role_raised(facts: Facts) -> str | bool:
    """A role change whose new role is an admin role the user did not have."""
    new, old = (str(v).strip().lower() if v is not None else None for v in (facts.new, facts.old))
    return f"{old or '(none)'} -> {new}" if new in ADMIN_ROLES and new != old else False


def not_a_person(facts: Facts) -> str | bool:
    """An actor other than a person in the admin console: a key, a client or automation."""
    if facts.actor_type not in (None, "USER"):
        return f"actor type {facts.actor_type}"
    return f"origin {facts.origin}" if facts.origin == "CONFIG_API" else False


def _as_set(value: Any) -> set[str]:
    if isinstance(value, list):
        return {str(item) for item in value}
    return set() if value in (None, "", False) else {json.dumps(value, default=str)}


def routes_added(facts: Facts) -> str | bool:
    """Subnet routes in `new` that `old` did not have (default routes are exit nodes)."""
    added = sorted(_as_set(facts.new) - _as_set(facts.old) - DEFAULT_ROUTES)
    return ", ".join(added) if added else False


def exit_node_added(facts: Facts) -> str | bool:
    """An exit node switched on, or a default route approved."""
    if facts.event_type.endswith(".EXIT_NODE"):
        return f"{facts.old!r} -> {facts.new!r}" if facts.new and not facts.old else False
    added = sorted((_as_set(facts.new) - _as_set(facts.old)) & DEFAULT_ROUTES)
    return ", ".join(added) if added else False


def items_removed(facts: Facts) -> str | bool:
    """Entries of `old` missing from `new` (any change when they are not lists)."""
    if isinstance(facts.old, list) and isinstance(facts.new, list):
        gone = sorted(_as_set(facts.old) - _as_set(facts.new))
        return ", ".join(gone) if gone else False
    return bool(facts.old != facts.new)


def failed(facts: Facts) -> str | bool:
    """The change did not go through."""
    return facts.failed


def unknown_event(facts: Facts) -> str | bool:
    """An event type the action table does not list."""
    return f"{facts.event_type} is not in the action table" if not facts.known else False


def policy_risk(code: str) -> Condition:
    """A risk that policy analysis found in the ACL change."""

    def condition(facts: Facts) -> str | bool:
        return facts.policy_risks.get(code) or False

    condition.__doc__ = f"Policy analysis reports `{code}`."
    return condition


def policy_unparsable(facts: Facts) -> str | bool:
    """A side of the ACL change is neither JSON nor HuJSON."""
    return facts.policy_error or False


ACL = ("TAILNET.UPDATE.ACL",)
T_LOGS, T_TOOLS, T_FIREWALL = "T1562.008", "T1562.001", "T1562.007"

# fmt: off
RULES: tuple[Rule, ...] = (
    Rule("TS-LOG-001", "Network flow logging switched off", "high", (T_LOGS,),
         ("TAILNET.DISABLE.NETWORK_FLOW_LOGGING",)),
    Rule("TS-LOG-002", "Exit node flow logging switched off", "high", (T_LOGS,),
         ("TAILNET.DISABLE.LOG_EXIT_FLOWS",)),
    Rule("TS-LOG-003", "Log streaming endpoint deleted", "high", (T_LOGS,),
         ("TAILNET.DELETE.LOGSTREAM_ENDPOINT",)),
    Rule("TS-LOG-004", "Log streaming endpoint changed", "medium", (T_LOGS,),
         ("TAILNET.UPDATE.LOGSTREAM_ENDPOINT",),
         description="Redirecting the stream moves the logs out of the SIEM's reach."),
    Rule("TS-LOG-005", "Webhook endpoint deleted", "high", ("T1562",),
         ("WEBHOOK_ENDPOINT.DELETE",)),
    Rule("TS-LOG-006", "Webhook stops receiving some events", "medium", ("T1562",),
         ("WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS",), items_removed),
    Rule("TS-LOG-007", "Security contact email changed", "medium", ("T1562",),
         ("TAILNET.UPDATE.SECURITY_EMAIL",),
         description="Security notifications go to the new address."),
    Rule("TS-TKA-001", "Tailnet lock disabled or removed", "high", ("T1556", T_TOOLS),
         ("TAILNET.DISABLE.TKA", "TAILNET.DELETE.TKA")),
    Rule("TS-SET-001", "Device approval switched off", "high", (T_TOOLS,),
         ("TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED",)),
    Rule("TS-SET-002", "User approval switched off", "high", (T_TOOLS,),
         ("TAILNET.DISABLE.USER_APPROVAL_REQUIRED",)),
    Rule("TS-SET-003", "HTTPS certificates switched off", "medium", (T_TOOLS,),
         ("TAILNET.DISABLE.HTTPS",)),
    Rule("TS-SET-004", "MagicDNS switched off", "medium", (T_TOOLS,),
         ("TAILNET.DISABLE.MAGIC_DNS",)),
    Rule("TS-SET-005", "Device posture identity collection switched off", "medium", (T_TOOLS,),
         ("TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY",)),
    Rule("TS-SET-006", "Node key expiry disabled for a device", "medium", ("T1098",),
         ("NODE.DISABLE.KEY_EXPIRY",),
         description="The device never has to re-authenticate."),
    Rule("TS-POS-001", "Device posture integration removed", "high", (T_TOOLS,),
         ("TAILNET.DELETE.POSTURE_INTEGRATION",)),
    Rule("TS-KEY-001", "API key, OAuth client or auth key created", "medium", ("T1098.001",),
         ("API_KEY.CREATE",)),
    Rule("TS-KEY-002", "Key created with write scopes", "high", ("T1098.001",),
         ("API_KEY.CREATE",), write_scopes,
         "Scopes read from `new` (any `scopes` list) or from `actionDetails`."),
    Rule("TS-KEY-003", "Reusable or pre-authorized auth key created", "high", ("T1098.001",),
         ("API_KEY.CREATE",), reusable_or_preauthorized,
         "Flags read from `new` (`reusable` or `preauthorized` true at any depth)."),
    Rule("TS-IAM-001", "Role raised to an admin role or owner", "high", ("T1098.003",),
         ("USER.UPDATE.USER_ROLE",), role_raised,
         "New role owner, admin, it-admin or network-admin, different from the old one."),
    Rule("TS-IAM-002", "User approved by a key, client or automation", "medium", ("T1136.003",),
         ("USER.APPROVE",), not_a_person,
         "Actor type other than USER, or origin CONFIG_API (an API key acting for a user)."),
    Rule("TS-IAM-003", "Identity provider changed", "high", ("T1484.002",),
         ("*.*.AUTH_PROVIDER", "*.MIGRATE_AUTH_PROVIDER", "*.MIGRATE_AUTH_PROVIDER.*")),
    Rule("TS-DEV-001", "Device approved by a key, client or automation", "medium",
         ("T1078.004",), ("NODE.APPROVE",), not_a_person,
         "Actor type other than USER, or origin CONFIG_API (an API key acting for a user)."),
    Rule("TS-SHR-001", "Device share accepted by another tailnet", "medium", ("T1199",),
         ("INVITE.ACCEPT.NODE_SHARE",),
         description="A device share always crosses to another tailnet."),
    Rule("TS-RTE-001", "Subnet routes approved", "medium", ("T1599",),
         ("NODE.UPDATE.ALLOWED_IPS",), routes_added),
    Rule("TS-RTE-002", "Exit node approved", "medium", ("T1090",),
         ("NODE.UPDATE.EXIT_NODE", "NODE.UPDATE.ALLOWED_IPS"), exit_node_added),
    Rule("TS-ACL-001", "Policy opens access to any destination or the internet", "high",
         (T_FIREWALL,), ACL, policy_risk("wide_destination"),
         "New access to `*`, `autogroup:internet` or a prefix of /8 or wider (IPv6 /32), "
         "after expanding host aliases and IP sets, that the old policy did not allow."),
    Rule("TS-ACL-002", "Policy opens access from any source", "high", (T_FIREWALL,),
         ACL, policy_risk("any_source"),
         "New access from `*` or `autogroup:danger-all`."),
    Rule("TS-ACL-003", "Policy opens a sensitive port", "high", (T_FIREWALL, "T1021"),
         ACL, policy_risk("sensitive_port"),
         "New access to SSH, Telnet, SMB, RDP, VNC, WinRM, databases, Docker or Kubernetes "
         "ports (an explicit port, a range or `*`)."),
    Rule("TS-ACL-004", "SSH rule changed from check to accept", "high", ("T1021.004",),
         ACL, policy_risk("ssh_check_to_accept"),
         "A source may now SSH as a user with `accept` where it needed `check`."),
    Rule("TS-ACL-005", "SSH as root newly allowed", "high", ("T1021.004",),
         ACL, policy_risk("ssh_root_added"),
         "A source newly allowed to SSH as `root` (or any user), after expanding groups, "
         "tag owners and autogroups."),
    Rule("TS-ACL-006", "Auto-approvers added for routes or exit nodes", "high", ("T1599",),
         ACL, policy_risk("auto_approvers_added"),
         "Someone may now auto-approve a route (or a wider one), an exit node or a service."),
    Rule("TS-ACL-007", "Policy tests deleted", "medium", (T_FIREWALL,),
         ACL, policy_risk("tests_deleted"),
         "`tests` or `sshTests` entries removed, so a later widening fails no test."),
    Rule("TS-ACL-008", "Policy file does not parse", "medium", (),
         ACL, policy_unparsable, "Old or new policy is neither JSON nor HuJSON; not analysed."),
    Rule("TS-ACL-009", "Tailnet policy file deleted", "high", (T_FIREWALL,),
         ("TAILNET.DELETE.ACL",)),
    Rule("TS-ACL-010", "Policy widens access", "high", (T_FIREWALL,),
         ACL, policy_risk("access_widened"),
         "Anyone reaches a destination, port, SSH login or application capability the old "
         "policy did not allow, after expanding groups, tag owners, autogroups, hosts and IP "
         "sets. Every widening is high; the detail names what became reachable, and the "
         "rules above and below name the widest cases (everything, the internet, sensitive "
         "ports, SSH as root, admin capabilities, Funnel). A first policy (no `old`) is "
         "compared with one allowing nothing."),
    Rule("TS-ACL-011", "Policy grants an admin application capability", "high",
         ("T1098", T_FIREWALL), ACL, policy_risk("admin_capability"),
         "A new grant `app` capability whose name or value mentions system:masters, admin, "
         "owner or root (e.g. Kubernetes impersonation of `system:masters`)."),
    Rule("TS-ACL-012", "Funnel switched on for more nodes", "high", ("T1133", T_FIREWALL),
         ACL, policy_risk("funnel_enabled"),
         "`nodeAttrs` give the `funnel` attribute to nodes that lacked it, exposing their "
         "services to the public internet."),
    Rule("TS-ACL-013", "Posture or route condition removed from access", "medium",
         (T_FIREWALL,), ACL, policy_risk("condition_removed"),
         "Access that needed a device posture (`srcPosture`, `defaultSrcPosture`) or a "
         "grant's `via` router now needs less."),
    Rule("TS-GEN-001", "Configuration change failed", "medium", (), ("*",), failed,
         "Outcome failure: an `error` is set, or the target is a FAILED_REQUEST."),
    Rule("TS-GEN-002", "Unknown event type", "medium", (), ("*",), unknown_event,
         "Tailscale added an event this table does not know yet; review it and the table."),
)
# fmt: on

RULE_IDS: frozenset[str] = frozenset(rule.rule_id for rule in RULES)
