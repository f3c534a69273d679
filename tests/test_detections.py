"""Detection rules: a positive and a negative event per rule, severity, overrides."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tap_tailscale.admin_audit import EVENT_TYPES, RULES, SeverityPolicy
from tap_tailscale.admin_audit.rules import RULE_IDS
from tests.admin_events import record, rule_ids

API = {"id": "kTf39CrCNTRL", "type": "OAUTH_CLIENT", "displayName": "terraform-ci"}


def acl(old: str, new: str) -> tuple[str, dict[str, Any]]:
    return "TAILNET.UPDATE.ACL", {"old": old, "new": new}


def rules_json(**sections: Any) -> str:
    return json.dumps(sections)


BASE = {"acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]}]}
SSH_CHECK = [{"action": "check", "src": ["group:eng"], "dst": ["tag:db"], "users": ["ubuntu"]}]
SSH_ACCEPT = [{"action": "accept", "src": ["group:eng"], "dst": ["tag:db"], "users": ["ubuntu"]}]
SSH_ROOT = [{"action": "check", "src": ["group:eng"], "dst": ["tag:db"], "users": ["root"]}]
TESTS = [{"src": "alice@example.com", "accept": ["tag:web:443"]}]
ENG = {"group:eng": ["alice@x"]}
K8S = {"tailscale.com/cap/kubernetes": [{"impersonate": {"groups": ["system:masters"]}}]}
K8S_GRANT = {"src": ["group:eng"], "dst": ["tag:k8s"], "app": K8S}
FUNNEL = {"target": ["tag:web"], "attr": ["funnel"]}
UNCONDITIONED = {"src": ["group:eng"], "dst": ["tag:web"], "ip": ["443"]}
POSTURED = {**UNCONDITIONED, "srcPosture": ["posture:latestMac"]}


def policy(**extra: Any) -> str:
    return rules_json(**{**BASE, **extra})


def grant(dst: str, ports: str, src: str = "group:eng") -> dict[str, Any]:
    return {"acls": [{"action": "accept", "src": [src], "dst": [f"{dst}:{ports}"]}]}


# rule -> (positive (event type, fields), negative (event type, fields)). Negatives are
# the nearest event that must not fire: same event with a harmless value where the rule
# has a condition, else a neighbouring event (the opposite toggle, an update, ...).
CASES: dict[str, tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "TS-LOG-001": (
        ("TAILNET.DISABLE.NETWORK_FLOW_LOGGING", {}),
        ("TAILNET.ENABLE.NETWORK_FLOW_LOGGING", {}),
    ),
    "TS-LOG-002": (("TAILNET.DISABLE.LOG_EXIT_FLOWS", {}), ("TAILNET.ENABLE.LOG_EXIT_FLOWS", {})),
    "TS-LOG-003": (
        ("TAILNET.DELETE.LOGSTREAM_ENDPOINT", {}),
        ("TAILNET.CREATE.LOGSTREAM_ENDPOINT", {}),
    ),
    "TS-LOG-004": (
        ("TAILNET.UPDATE.LOGSTREAM_ENDPOINT", {}),
        ("TAILNET.CREATE.LOGSTREAM_ENDPOINT", {}),
    ),
    "TS-LOG-005": (("WEBHOOK_ENDPOINT.DELETE", {}), ("WEBHOOK_ENDPOINT.CREATE", {})),
    "TS-LOG-006": (
        ("WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS", {"old": ["a", "b"], "new": ["a"]}),
        ("WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS", {"old": ["a"], "new": ["a", "b"]}),
    ),
    "TS-LOG-007": (("TAILNET.UPDATE.SECURITY_EMAIL", {}), ("TAILNET.VERIFY.SECURITY_EMAIL", {})),
    "TS-TKA-001": (("TAILNET.DISABLE.TKA", {}), ("TAILNET.ENABLE.TKA", {})),
    "TS-SET-001": (
        ("TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED", {}),
        ("TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED", {}),
    ),
    "TS-SET-002": (
        ("TAILNET.DISABLE.USER_APPROVAL_REQUIRED", {}),
        ("TAILNET.ENABLE.USER_APPROVAL_REQUIRED", {}),
    ),
    "TS-SET-003": (("TAILNET.DISABLE.HTTPS", {}), ("TAILNET.ENABLE.HTTPS", {})),
    "TS-SET-004": (("TAILNET.DISABLE.MAGIC_DNS", {}), ("TAILNET.ENABLE.MAGIC_DNS", {})),
    "TS-SET-005": (
        ("TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY", {}),
        ("TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY", {}),
    ),
    "TS-SET-006": (("NODE.DISABLE.KEY_EXPIRY", {}), ("NODE.ENABLE.KEY_EXPIRY", {})),
    "TS-POS-001": (
        ("TAILNET.DELETE.POSTURE_INTEGRATION", {}),
        ("TAILNET.UPDATE.POSTURE_INTEGRATION", {}),
    ),
    "TS-KEY-001": (("API_KEY.CREATE", {"new": {}}), ("API_KEY.REVOKE", {})),
    "TS-KEY-002": (
        ("API_KEY.CREATE", {"new": {"scopes": ["devices:core", "logs:network:read"]}}),
        ("API_KEY.CREATE", {"new": {"scopes": ["logs:configuration:read"]}}),
    ),
    "TS-KEY-003": (
        (
            "API_KEY.CREATE",
            {"new": {"capabilities": {"devices": {"create": {"reusable": True}}}}},
        ),
        (
            "API_KEY.CREATE",
            {"new": {"capabilities": {"devices": {"create": {"reusable": False}}}}},
        ),
    ),
    "TS-IAM-001": (
        ("USER.UPDATE.USER_ROLE", {"old": "member", "new": "admin"}),
        ("USER.UPDATE.USER_ROLE", {"old": "admin", "new": "member"}),
    ),
    "TS-IAM-002": (("USER.APPROVE", {"actor": API}), ("USER.APPROVE", {})),
    "TS-IAM-003": (("TAILNET.UPDATE.AUTH_PROVIDER", {}), ("TAILNET.UPDATE.DNS_CONFIG", {})),
    "TS-DEV-001": (("NODE.APPROVE", {"origin": "CONFIG_API"}), ("NODE.APPROVE", {})),
    "TS-SHR-001": (("INVITE.ACCEPT.NODE_SHARE", {}), ("INVITE.CREATE.NODE_SHARE", {})),
    "TS-RTE-001": (
        (
            "NODE.UPDATE.ALLOWED_IPS",
            {"old": ["100.64.0.1/32"], "new": ["100.64.0.1/32", "10.0.0.0/8"]},
        ),
        (
            "NODE.UPDATE.ALLOWED_IPS",
            {"old": ["100.64.0.1/32", "10.0.0.0/8"], "new": ["100.64.0.1/32"]},
        ),
    ),
    "TS-RTE-002": (
        ("NODE.UPDATE.EXIT_NODE", {"old": False, "new": True}),
        ("NODE.UPDATE.EXIT_NODE", {"old": True, "new": False}),
    ),
    "TS-ACL-001": (
        acl(policy(), rules_json(**grant("*", "443"))),
        acl(rules_json(**grant("*", "443")), policy()),
    ),
    "TS-ACL-002": (
        acl(policy(), rules_json(**grant("tag:web", "443", src="*"))),
        acl(rules_json(**grant("tag:web", "443", src="*")), policy()),
    ),
    "TS-ACL-003": (
        acl(policy(), rules_json(**grant("tag:web", "443,3389"))),
        acl(policy(), rules_json(**grant("tag:web", "443,8443"))),
    ),
    "TS-ACL-004": (
        acl(policy(ssh=SSH_CHECK), policy(ssh=SSH_ACCEPT)),
        acl(policy(ssh=SSH_ACCEPT), policy(ssh=SSH_CHECK)),
    ),
    "TS-ACL-005": (acl(policy(), policy(ssh=SSH_ROOT)), acl(policy(ssh=SSH_ROOT), policy())),
    "TS-ACL-006": (
        acl(policy(), policy(autoApprovers={"routes": {"10.0.0.0/8": ["tag:router"]}})),
        acl(policy(autoApprovers={"exitNode": ["tag:exit"]}), policy()),
    ),
    "TS-ACL-007": (acl(policy(tests=TESTS), policy()), acl(policy(), policy(tests=TESTS))),
    "TS-ACL-008": (acl(policy(), "{ not a policy"), acl(policy(), "// fine\n" + policy())),
    "TS-ACL-009": (("TAILNET.DELETE.ACL", {}), ("TAILNET.UPDATE.ACL", {})),
    "TS-ACL-010": (
        acl(policy(groups=ENG), policy(groups={"group:eng": [*ENG["group:eng"], "m@x"]})),
        acl(policy(groups=ENG), "// comment only\n" + policy(groups=ENG)),
    ),
    "TS-ACL-011": (
        acl(policy(), policy(grants=[K8S_GRANT])),
        acl(policy(grants=[K8S_GRANT]), policy()),
    ),
    "TS-ACL-012": (
        acl(policy(), policy(nodeAttrs=[FUNNEL])),
        acl(policy(nodeAttrs=[FUNNEL]), policy()),
    ),
    "TS-ACL-013": (
        acl(rules_json(grants=[POSTURED]), rules_json(grants=[UNCONDITIONED])),
        acl(rules_json(grants=[UNCONDITIONED]), rules_json(grants=[POSTURED])),
    ),
    "TS-GEN-001": (("NODE.APPROVE", {"error": "device limit reached"}), ("NODE.APPROVE", {})),
    "TS-GEN-002": (("SPACESHIP.ENGAGE.WARP", {}), ("NODE.APPROVE", {})),
}


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    assert set(CASES) == RULE_IDS
    assert len(RULES) == len(RULE_IDS), "rule IDs are unique"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_its_positive_event(rule_id: str) -> None:
    ev, fields = CASES[rule_id][0]
    rec = record(ev, **fields)
    assert rule_id in rule_ids(rec), rec["findings"]
    finding = next(f for f in rec["findings"] if f["rule_id"] == rule_id)
    rule = next(r for r in RULES if r.rule_id == rule_id)
    assert finding == {
        "rule_id": rule_id,
        "title": rule.title,
        "severity": rule.severity,
        "attack": list(rule.attack),
        "detail": finding["detail"],
    }


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_stays_quiet_on_its_negative_event(rule_id: str) -> None:
    ev, fields = CASES[rule_id][1]
    assert rule_id not in rule_ids(record(ev, **fields))


def test_rules_use_only_values_the_spec_has() -> None:
    spec_parts = {part for ev in EVENT_TYPES for part in ev.split(".")}
    for rule in RULES:
        for pattern in rule.events:
            for part in pattern.split("."):
                assert (
                    part in spec_parts
                    or "*" in part
                    or part == "AUTH_PROVIDER"
                    or (part in ("MIGRATE_AUTH_PROVIDER", "ACL"))
                ), (rule.rule_id, part)
    for wrong in ("TAILNET_LOCK", "REMOVE", "OAUTH_CLIENT", "AUTH_KEY"):
        assert all(wrong not in ".".join(r.events) for r in RULES)


def test_severity_is_the_highest_of_base_and_findings() -> None:
    rec = record("NODE.APPROVE", origin="CONFIG_API", error="no")
    assert rec["action"] == "device:approve"
    assert rec["severity"] == "high"
    rec = record("INVITE.ACCEPT.NODE_SHARE")
    assert rec["action"] == "share:accept"
    assert rec["severity"] == "medium", "info base raised by a medium finding"
    assert record("INVITE.CREATE.NODE_SHARE")["severity"] == "info"


def test_unknown_event_type_is_flagged_never_silent_info() -> None:
    rec = record("SPACESHIP.ENGAGE.WARP")
    assert rule_ids(rec) == {"TS-GEN-002"}
    assert rec["severity"] == "medium"
    family = record("TAILNET.ENABLE.BRAND_NEW_TOGGLE")
    assert rec["findings"][0]["detail"] == "SPACESHIP.ENGAGE.WARP is not in the action table"
    assert "TS-GEN-002" in rule_ids(family)


def test_known_events_carry_no_unknown_finding() -> None:
    for ev in EVENT_TYPES:
        assert "TS-GEN-002" not in rule_ids(record(ev)), ev


def test_rule_override_turns_a_rule_off_or_rerates_it() -> None:
    quiet = SeverityPolicy({"rule:TS-SHR-001": "off"})
    rec = record("INVITE.ACCEPT.NODE_SHARE", quiet)
    assert rec["findings"] == []
    assert rec["severity"] == "info"
    loud = SeverityPolicy({" RULE:ts-shr-001 ": "High"})
    rec = record("INVITE.ACCEPT.NODE_SHARE", loud)
    assert rec["findings"][0]["severity"] == "high"
    assert rec["severity"] == "high"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"rule:TS-NOPE-001": "off"}, "names no detection rule"),
        ({"rule:TS-LOG-001": "loud"}, "use off or one of high, medium, info"),
        ({"rule:TS-LOG-001": None}, "'rule:TS-LOG-001' -> None"),
        ({"device:delete": "off"}, "not a valid severity"),
    ],
)
def test_invalid_rule_override_is_one_line(overrides: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match="severity_overrides") as excinfo:
        SeverityPolicy(overrides)
    assert needle in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_findings_detail_says_what_fired() -> None:
    rec = record("USER.UPDATE.USER_ROLE", old="member", new="it-admin")
    assert rec["findings"][0]["detail"] == "member -> it-admin"
    rec = record("API_KEY.CREATE", actionDetails="scopes: all", new={})
    assert {"TS-KEY-001", "TS-KEY-002"} <= rule_ids(rec)
