"""ACL change analysis: HuJSON parsing, policy_changes, and widened versus narrowed access."""

from __future__ import annotations

import json
from typing import Any

from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.admin_audit.policy_risks import new_access
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
    assert all(f["severity"] == "high" for f in rec["findings"])
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


def test_missing_side_is_not_analysed() -> None:
    rec = record("TAILNET.UPDATE.ACL", new=OPEN)
    assert rec["policy_changes"] is None
    assert rec["findings"] == []


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
    assert set(analysis.risks) == {"ssh_check_to_accept", "auto_approvers_added", "tests_deleted"}


def test_coverage_understands_star_ranges_and_internet() -> None:
    old = {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}
    assert new_access(old, {"acls": [{"src": ["g"], "dst": ["tag:x:1000-2000"]}]}) == []
    internet = {"acls": [{"src": ["g"], "dst": ["autogroup:internet:*"]}]}
    assert [a.dst for a in new_access(old, internet)] == ["autogroup:internet"]
    ranged = {"acls": [{"src": ["g"], "dst": ["tag:x:1000-2000"]}]}
    wider = {"acls": [{"src": ["g"], "dst": ["tag:x:900-2000"]}]}
    assert new_access(ranged, wider)
    assert not new_access(wider, ranged)
    grants = {"grants": [{"src": ["g"], "dst": ["tag:db"], "ip": ["tcp:5432"]}]}
    assert [a.describe() for a in new_access({}, grants)] == ["g -> tag:db:5432"]
    app_only = {"grants": [{"src": ["g"], "dst": ["tag:db"], "app": {"x": [{}]}}]}
    assert new_access({}, app_only) == []
