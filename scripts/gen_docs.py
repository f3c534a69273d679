"""Generate docs/admin-audit-actions.md and docs/detections.md from the code, or check them.

python scripts/gen_docs.py          # rewrite both documents
python scripts/gen_docs.py --check  # exit 1 if either is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_rules import history_markdown

from tap_tailscale.admin_audit.actions import (
    AUTH_PROVIDER_ACTION,
    AUTH_PROVIDER_PROPERTY,
    DECISIONS,
    EVENT_ROWS,
    EXTRA_ROWS,
    FAMILY_ROWS,
    LIVE_ROWS,
)
from tap_tailscale.admin_audit.rules import RULES
from tap_tailscale.admin_audit.severity import (
    HARDENING_EVENTS,
    HIGH_ACTIONS,
    MEDIUM_ACTIONS,
    default_severity,
)
from tap_tailscale.admin_audit.summary import (
    AUTH_PROVIDER_TEMPLATE,
    PASSIVE_TEMPLATES,
    fill,
    to_past,
)
from tap_tailscale.inventory.posture_rules import RULES as POSTURE_RULES

if TYPE_CHECKING:
    from collections.abc import Iterable

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADER = (
    "<!-- Generated from tap_tailscale/admin_audit and transform/dbt_project.yml by "
    "scripts/gen_docs.py; do not edit. -->"
)
_FIELDS = {
    "kind": "*key kind*",
    "t": "*target*",
    "tid": "*target*",
    "prop": "*property*",
    "event": "*event*",
    "ttype": "*target type*",
}


def _doc_summary(template: str, passive: str | None) -> str:
    active = "*actor* " + to_past(fill(template, _FIELDS))
    if passive is None:
        return active
    text = fill(passive, _FIELDS)
    return f"{text[:1].upper()}{text[1:]} ({active} when a user did it)"


def _codes(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in sorted(values))


def _severity_section() -> list[str]:
    return [
        "## Severity",
        "",
        "| Severity | Normalized actions |",
        "| --- | --- |",
        f"| high | {_codes(HIGH_ACTIONS)} |",
        f"| medium | {_codes(MEDIUM_ACTIONS)}, and any other `*:delete` or `*:remove` |",
        "| info | everything else |",
        "",
        f"Events that switch a protection on are info: {_codes(HARDENING_EVENTS)}. "
        "`acl:update` is info by itself: an ACL change is as severe as the access it "
        "opens, which the TS-ACL rules read from the access diff (docs/detections.md).",
        "",
        "A record's `severity` is the highest of this base severity and the severities of",
        "its `findings` (docs/detections.md).",
        "",
        "### Overrides",
        "",
        "The `severity_overrides` setting maps a normalized action, or a glob such as "
        "`device:*` (`*`, `?` and `[...]` as in shell patterns), to `high`, `medium` or "
        "`info`. An override beats the table. An exact action beats any glob; among globs "
        "that match, the longest pattern wins, and between equally long patterns the higher "
        "severity wins. A key `rule:<rule ID>` re-rates a detection rule or switches it "
        "`off`. Any other value is a configuration error that names the entry. Example: "
        '`{"device:*": "medium", "device:delete": "high", "session:*": "info", '
        '"rule:TS-SET-004": "off"}`.',
        "",
    ]


def _event_rows() -> list[str]:
    lines = [
        f"## Event mapping ({len(EVENT_ROWS)} event values of the API spec)",
        "",
        "| Tailscale event | Normalized action | Default severity | Summary |",
        "| --- | --- | --- | --- |",
    ]
    for row in EVENT_ROWS:
        if row.event.startswith("FAILED_REQUEST."):
            summary = f"*actor* failed to {row.template}: *error*"
        else:
            summary = _doc_summary(row.template, PASSIVE_TEMPLATES.get(row.event))
        lines.append(
            f"| `{row.event}` | `{row.action}` | {default_severity(row.action, row.event)} "
            f"| {summary} |"
        )
    return lines


def _live_rows() -> list[str]:
    lines = [
        "",
        f"## Event values seen in live logs ({len(LIVE_ROWS)} beyond the spec)",
        "",
        "The live API sends event values that the spec's enums do not list. These are "
        "mapped like the spec's own, with no TS-GEN-002 finding.",
        "",
        "| Tailscale event | Normalized action | Default severity | Summary | Source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in LIVE_ROWS:
        lines.append(
            f"| `{row.event}` | `{row.action}` | {default_severity(row.action)} | "
            f"{_doc_summary(row.template, None)} | {row.source} |"
        )
    return lines


def _other_rows() -> list[str]:
    lines = [
        "",
        "## Values outside that list",
        "",
        "Tailscale adds event types over time; none of these ever fails a sync, and each "
        "carries the finding TS-GEN-002 (unknown event type).",
        "",
        "| Event | Normalized action | Default severity | Summary |",
        "| --- | --- | --- | --- |",
    ]
    for row in EXTRA_ROWS:
        lines.append(
            f"| `{row.event}` | `{row.action}` | {default_severity(row.action)} | "
            f"{_doc_summary(row.template, None)} |"
        )
    lines.append(
        f"| `*.*.{AUTH_PROVIDER_PROPERTY}`, `*.{AUTH_PROVIDER_ACTION}[.*]` | `oidc:update` "
        f"(`saml:update` when `old` or `new` mentions SAML) | {default_severity('oidc:update')}"
        f" | {_doc_summary(AUTH_PROVIDER_TEMPLATE, None)} |"
    )
    for row in FAMILY_ROWS:
        lines.append(
            f"| `{row.event}` (any other property) | `{row.action}` | "
            f"{default_severity(row.action)} | {_doc_summary(row.template, None)} |"
        )
    lines.append(
        "| anything else | `<target type>:<action>` in lower case, e.g. `NODE.FROB` -> "
        "`node:frob`; a missing part reads `unknown` | medium for `*:delete` and "
        "`*:remove`, else info | *actor* performed *event* on *target type* *target* |"
    )
    return lines


_OTHER_FIELDS = (
    "- `outcome` is `failure` when the event carries a non-empty `error` (and for "
    "`FAILED_REQUEST` targets), else `success`.",
    "- `summary` names the actor by login name, then display name, then id, then "
    '"an automated process".',
    "- `findings` lists the detection rules that fired (docs/detections.md): "
    "`rule_id`, `title`, `severity`, `attack` (MITRE ATT&CK technique IDs), `detail`.",
    "- `policy_diff` is set for `ACL` changes when both `old` and `new` are present: a "
    "unified diff (`old` -> `new`) of the two policies parsed as JSON or HuJSON and "
    "pretty-printed with two-space indentation, or of the raw text when either does "
    "not parse. It is empty when the policies are equivalent.",
    "- `policy_changes` is set for `ACL` changes when `new` is present and both policies "
    "parse (no `old` is a first policy, compared with one that allows nothing): per "
    "section, what changed. List sections (`acls`, `grants`, `ssh`, `tests`, `sshTests`, "
    "`nodeAttrs`) have `added` and `removed` entries (an edited entry is one of each); map "
    "sections (`tagOwners`, `groups`, `hosts`, `ipsets`, `postures`, `autoApprovers`) have "
    "`added`, `removed` and `changed` keys; `other_keys` names other top-level keys that "
    "changed. `became_reachable` and `no_longer_reachable` list, in reviewer words, the "
    "access the change opened and closed (after expanding groups, tag owners, autogroups, "
    "hosts and IP sets), e.g. `group:eng (now with mallory@example.com) → tag:prod:443, "
    "was not reachable`; at most 50 sentences each, then a count. When the run also "
    "syncs `devices` and `users`, `reach_now` counts them on that snapshot: "
    "`users_now_reaching` and `devices_now_reachable` for the widening, "
    "`users_no_longer_reaching` and `devices_no_longer_reachable` for the narrowing, and "
    "`snapshot`, which says the devices and users are as of this sync, not as of the event "
    "(users matched by login, group, role or autogroup; devices by tag, address, owner "
    "or `autogroup:self`; see `tap_tailscale/policy/reach.py`). Without that snapshot "
    "`reach_now` is absent. Sections without a change are left out.",
)


def actions_markdown() -> str:
    """The generated docs/admin-audit-actions.md."""
    lines = [
        "# `admin_audit` actions and severities",
        "",
        HEADER,
        "",
        "Each `configuration_audit` event becomes one `admin_audit` record whose `action` is "
        "a normalized `resource:verb` built from Tailscale's `target.type`, `action` and "
        "`target.property` (the event value `TARGET.ACTION[.PROPERTY]`). `severity` comes "
        "from the action through the table below unless `severity_overrides` says otherwise.",
        "",
        *_severity_section(),
        *_event_rows(),
        *_live_rows(),
        *_other_rows(),
        "",
        "Refinement by value: `USER.UPDATE.USER_ROLE` whose `new` value is `owner` is "
        "`tailnet:transfer_ownership` (high).",
        "",
        "## Why these choices",
        "",
        *(f"- {decision}" for decision in DECISIONS),
        "",
        "## Other fields",
        "",
        *_OTHER_FIELDS,
        "",
    ]
    return "\n".join(lines)


def _condition(rule: object) -> str:
    description = getattr(rule, "description", "")
    when = getattr(rule, "when", None)
    if description:
        return str(description)
    if when is not None and when.__doc__:
        return str(when.__doc__).strip().splitlines()[0]
    return "Any such event."


def _rule_rows() -> list[str]:
    lines = [
        "| Rule | Title | Severity | ATT&CK | Events | Fires when |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        attack = ", ".join(rule.attack) or "-"
        events = ", ".join(f"`{e}`" for e in rule.events)
        lines.append(
            f"| {rule.rule_id} | {rule.title} | {rule.severity} | {attack} | {events} | "
            f"{_condition(rule)} |"
        )
    return lines


def _posture_section() -> list[str]:
    lines = [
        f"## Posture findings ({len(POSTURE_RULES)})",
        "",
        "The `posture_findings` stream holds one row per rule below and subject (tailnet, "
        "log type, webhook, integration, invite, key or device) that fails it in this run's "
        "snapshots, keyed by `finding_id` (stable while the finding holds), with the same "
        "`rule_id`, `title`, `severity` and `attack` columns. A value the API did not send "
        "raises nothing; a snapshot the credential cannot read leaves its rules unevaluated "
        "and says so in one warning. Thresholds are the `posture_*` settings, and "
        "`severity_overrides` re-rates or switches off these rules too (`rule:TS-PST-012`).",
        "",
        "| Rule | Title | Severity | ATT&CK | Reads | Fires when |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in POSTURE_RULES:
        attack = ", ".join(rule.attack) or "-"
        lines.append(
            f"| {rule.rule_id} | {rule.title} | {rule.severity} | {attack} | "
            f"`{rule.source}` | {rule.description} |"
        )
    return lines


_COMPARISON = (
    "## Compared with public rule sets",
    "",
    "Public Tailscale content as of this release: Microsoft Sentinel (24 analytic rules, "
    "26 hunting queries), Datadog (6 Cloud SIEM rules), Panther (3 rules); Sigma, Elastic "
    "and Chronicle ship none for the audit log.",
    "",
    "- **Logging tampering**: no public set detects network flow logging or exit-flow "
    "logging switched off, a log streaming endpoint deleted or redirected, or a webhook "
    "deleted. Here: TS-LOG-001 to TS-LOG-007.",
    "- **Tailnet lock**: a public rule keys on `TAILNET_LOCK`, which the API never sends; "
    "the spec's value is `TKA`. Here: TS-TKA-001 on `TAILNET.DISABLE.TKA` and "
    "`TAILNET.DELETE.TKA`.",
    "- **Posture integrations**: a public rule keys on action `REMOVE`; the spec says "
    "`DELETE`. Here: TS-POS-001 on `TAILNET.DELETE.POSTURE_INTEGRATION`.",
    "- **Keys**: a public revocation rule keys on target types `OAUTH_CLIENT` and "
    "`AUTH_KEY`; the spec has one target type, `API_KEY`, for all keys. Here: "
    "TS-KEY-001 to TS-KEY-003 on `API_KEY.CREATE`, rating write scopes and reusable or "
    "pre-authorized auth keys higher when the event shows them.",
    "- **ACL changes**: public sets rate every policy update alike. Here the old and new "
    "policies are compared (TS-ACL-001 to TS-ACL-009): widening to `*` or "
    "`autogroup:internet`, a new `*` source, sensitive ports, SSH check to accept or "
    "root, new auto-approvers, deleted tests, an unparsable policy. Narrowing raises "
    "nothing.",
    "- **Panther's three rules** (HTTPS, device approval and MagicDNS switched off) are "
    "TS-SET-003, TS-SET-001 and TS-SET-004; Panther rates HTTPS high, this table medium "
    "(re-rate it with `rule:TS-SET-003`).",
    "- **Unknown event types**: public sets match known strings only, so a new event "
    "passes silently. Here every event outside the action table carries TS-GEN-002.",
    "- **Rules that need history** (Sentinel's network analytics such as DERP relay surges, "
    "large transfers, fan-out and unexpected exit-node egress, and its inventory and "
    "first-seen hunting queries) cannot run on one event: they are the TS-H rules of the "
    "dbt project, below.",
)


def detections_markdown() -> str:
    """The generated docs/detections.md."""
    lines = [
        "# Detections on `admin_audit`",
        "",
        HEADER,
        "",
        "Each `admin_audit` record carries `findings`: one entry per rule below that "
        "fired, with `rule_id`, `title`, `severity`, `attack` (MITRE ATT&CK technique IDs) "
        "and `detail` (what made it fire, when the rule says). The record's `severity` is "
        "the highest of its action's severity and its findings'. Events are Tailscale's "
        "`TARGET.ACTION[.PROPERTY]` values; patterns use shell wildcards.",
        "",
        "`severity_overrides` re-rates a rule or switches it off: "
        '`{"rule:TS-SET-004": "off", "rule:TS-LOG-004": "high"}`. Values: `off`, `high`, '
        "`medium`, `info`; an unknown rule ID or value is a configuration error.",
        "",
        f"## Rules ({len(RULES)})",
        "",
        *_rule_rows(),
        "",
        *_posture_section(),
        "",
        *_COMPARISON,
        "",
        *history_markdown(),
        "",
    ]
    return "\n".join(lines)


DOCUMENTS = {
    "admin-audit-actions.md": actions_markdown,
    "detections.md": detections_markdown,
}


def main(argv: list[str] | None = None, docs: Path = DOCS) -> int:
    """Write the documents, or with --check report which are out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if a document is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, render in DOCUMENTS.items():
        path, text = docs / name, render()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
