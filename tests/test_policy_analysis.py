"""ACL change analysis: HuJSON parsing, policy_changes, and widened versus narrowed access."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.policy import compare
from tests.admin_events import record, rule_ids

OPEN = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}'
TIGHT = '{"acls": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}]}'
HUJSON = """// Engineers reach prod web servers only.
{
  /* block comment */
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}, // why
  ],
  "tagOwners": {"tag:prod": ["autogroup:admin"],},
}
"""


def test_widened_acl_is_a_high_finding() -> None:
    rec = record("TAILNET.UPDATE.ACL", old=TIGHT, new=OPEN)
    assert {"TS-ACL-001", "TS-ACL-002", "TS-ACL-003"} <= rule_ids(rec)
    severities = {f["rule_id"]: f["severity"] for f in rec["findings"]}
    assert severities["TS-ACL-010"] == "high"
    assert set(severities.values()) == {"high"}
    assert rec["severity"] == "high"


def test_narrowed_acl_raises_nothing() -> None:
    rec = record("TAILNET.UPDATE.ACL", old=OPEN, new=TIGHT)
    assert rec["findings"] == []
    assert rec["policy_changes"]["acls"] == {
        "added": [{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}],
        "removed": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
    }


def test_hujson_comments_and_trailing_commas_parse() -> None:
    analysis = analyse_policy(TIGHT, HUJSON)
    assert analysis.error is None
    assert analysis.changes == {"tagOwners": {"added": {"tag:prod": ["autogroup:admin"]}}}
    assert analysis.risks == {}


def test_unparsable_policy_is_a_finding_not_a_crash() -> None:
    rec = record("TAILNET.UPDATE.ACL", old=TIGHT, new='{"acls": [ /* unterminated')
    assert rule_ids(rec) == {"TS-ACL-008"}
    assert rec["findings"][0]["detail"].startswith("new policy is not JSON or HuJSON")
    assert rec["policy_changes"] is None
    assert rec["policy_diff"].startswith("--- old\n+++ new\n")
    not_object = analyse_policy(TIGHT, "[1, 2]")
    assert not_object.error == "new policy is a list, not an object"


def test_first_policy_is_compared_with_nothing() -> None:
    rec = record("TAILNET.UPDATE.ACL", new=OPEN)
    assert rec["policy_changes"]["became_reachable"] == [
        "* \N{RIGHTWARDS ARROW} *:*, was not reachable"
    ]
    assert {"TS-ACL-001", "TS-ACL-002", "TS-ACL-003", "TS-ACL-010"} <= rule_ids(rec)
    deleted = record("TAILNET.UPDATE.ACL", old=OPEN)
    assert deleted["policy_changes"] is None
    assert deleted["findings"] == []


def test_policy_changes_by_section() -> None:
    old: dict[str, Any] = {
        "ACLs": [{"action": "accept", "src": ["a"], "dst": ["b:1"]}],
        "groups": {"group:eng": ["alice@x"], "group:ops": ["bob@x"]},
        "tagOwners": {"tag:a": ["group:eng"]},
        "ssh": [{"action": "check", "src": ["a"], "dst": ["b"], "users": ["u"]}],
        "nodeAttrs": [{"target": ["*"], "attr": ["funnel"]}],
        "tests": [{"src": "a", "accept": ["b:1"]}],
        "derpMap": {"OmitDefaultRegions": False},
    }
    new: dict[str, Any] = {
        "acls": old["ACLs"],
        "grants": [{"src": ["a"], "dst": ["c"], "ip": ["tcp:443"]}],
        "groups": {"group:eng": ["alice@x", "carol@x"], "group:sre": ["dan@x"]},
        "tagOwners": {"tag:a": ["group:eng"]},
        "ssh": [{"action": "accept", "src": ["a"], "dst": ["b"], "users": ["u"]}],
        "nodeAttrs": [],
        "autoApprovers": {"exitNode": ["tag:exit"]},
        "derpMap": {"OmitDefaultRegions": True},
    }
    analysis = analyse_policy(json.dumps(old), json.dumps(new))
    changes = analysis.changes
    assert changes is not None
    assert "acls" not in changes, "key case does not matter"
    assert changes["grants"] == {"added": new["grants"]}
    assert changes["groups"] == {
        "added": {"group:sre": ["dan@x"]},
        "removed": {"group:ops": ["bob@x"]},
        "changed": {"group:eng": {"old": ["alice@x"], "new": ["alice@x", "carol@x"]}},
    }
    assert "tagOwners" not in changes
    assert changes["ssh"] == {"added": new["ssh"], "removed": old["ssh"]}
    assert changes["nodeAttrs"] == {"removed": old["nodeAttrs"]}
    assert changes["tests"] == {"removed": old["tests"]}
    assert changes["autoApprovers"] == {"added": {"exitNode": ["tag:exit"]}}
    assert changes["other_keys"] == ["derpMap"]
    assert changes["became_reachable"] == [
        "a \N{RIGHTWARDS ARROW} c:443/tcp, was not reachable",
        "a \N{RIGHTWARDS ARROW} b: SSH as u (accept), was check",
        "tag:exit \N{RIGHTWARDS ARROW} exit nodes: may auto-approve exitNode, was not allowed",
    ]
    assert changes["no_longer_reachable"] == ["*: node attribute funnel, no longer set"]
    assert set(analysis.risks) == {
        "access_widened",
        "ssh_check_to_accept",
        "auto_approvers_added",
        "tests_deleted",
    }


def _widened(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return compare(old, new).became_reachable()


def test_coverage_understands_star_ranges_and_internet() -> None:
    old = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
    assert _widened(old, {"acls": [{"src": ["g@x"], "dst": ["tag:x:1000-2000"]}]}) == []
    internet = {"acls": [{"src": ["g@x"], "dst": ["autogroup:internet:*"]}]}
    assert _widened(old, internet) == [
        "g@x \N{RIGHTWARDS ARROW} autogroup:internet:*, was not reachable"
    ]
    ranged = {"acls": [{"src": ["g@x"], "dst": ["tag:x:1000-2000"]}]}
    wider = {"acls": [{"src": ["g@x"], "dst": ["tag:x:900-2000"]}]}
    assert _widened(ranged, wider) == ["g@x \N{RIGHTWARDS ARROW} tag:x:900-999, was not reachable"]
    assert not _widened(wider, ranged)
    grants = {"grants": [{"src": ["g@x"], "dst": ["tag:db"], "ip": ["tcp:5432"]}]}
    assert _widened({}, grants) == ["g@x \N{RIGHTWARDS ARROW} tag:db:5432/tcp, was not reachable"]
    app_only = {"grants": [{"src": ["g@x"], "dst": ["tag:db"], "app": {"x": [{}]}}]}
    assert _widened({}, app_only) == [
        "g@x \N{RIGHTWARDS ARROW} tag:db: capability x {}, was not granted"
    ]


def test_a_plain_widening_is_high() -> None:
    rule = {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]}
    old = json.dumps({"groups": {"group:eng": ["a@x"]}, "acls": [rule]})
    new = old.replace('["a@x"]', '["a@x", "mallory@x"]')
    rec = record("TAILNET.UPDATE.ACL", old=old, new=new)
    assert {f["rule_id"] for f in rec["findings"]} == {"TS-ACL-010"}
    assert rec["severity"] == "high"


def test_high_is_at_most_a_fifth_of_the_default_mix() -> None:
    path = Path(__file__).resolve().parents[1] / "scripts" / "severity_mix.py"
    spec = importlib.util.spec_from_file_location("severity_mix", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = module.severity_counts()
    assert counts["high"] > 0
    assert counts["high"] <= 0.2 * sum(counts.values())
