"""Every class of widening raises a finding that names what became reachable; the
reverse change (its narrowing) raises none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.admin_events import record

ARROW = "\N{RIGHTWARDS ARROW}"
GROUPS = {"group:eng": ["alice@example.com"], "group:ops": ["olga@example.com"]}
OWNERS = {"tag:prod": ["autogroup:admin"], "tag:ci": ["group:ops"]}


def doc(**sections: Any) -> dict[str, Any]:
    return {"groups": GROUPS, "tagOwners": OWNERS, **sections}


def acl(src: str, dst: str) -> dict[str, Any]:
    return {"action": "accept", "src": [src], "dst": [dst]}


ENG_PROD = [acl("group:eng", "tag:prod:443")]
CI_DB = [acl("tag:ci", "tag:db:5432")]
K8S = {"tailscale.com/cap/kubernetes": [{"impersonate": {"groups": ["system:masters"]}}]}
GRANT = {"src": ["group:eng"], "dst": ["tag:web"], "ip": ["tcp:443"]}

# name -> (narrower policy, wider policy, rule that fires, words its detail holds)
CLASSES: dict[str, tuple[dict[str, Any] | None, dict[str, Any], str, str]] = {
    "user added to a group a rule names": (
        doc(acls=ENG_PROD),
        doc(
            groups={**GROUPS, "group:eng": ["alice@example.com", "mallory@example.com"]},
            acls=ENG_PROD,
        ),
        "TS-ACL-010",
        f"group:eng (now with mallory@example.com) {ARROW} tag:prod:443, was not reachable",
    ),
    "autogroup:member as source": (
        doc(acls=ENG_PROD),
        doc(acls=[acl("autogroup:member", "tag:prod:443")]),
        "TS-ACL-010",
        f"autogroup:member {ARROW} tag:prod:443, was not reachable",
    ),
    "autogroup:danger-all as source": (
        doc(acls=ENG_PROD),
        doc(acls=[acl("autogroup:danger-all", "tag:prod:443")]),
        "TS-ACL-002",
        f"autogroup:danger-all {ARROW} tag:prod:443",
    ),
    "tag owners widened": (
        doc(acls=CI_DB),
        doc(tagOwners={**OWNERS, "tag:ci": ["group:ops", "group:eng"]}, acls=CI_DB),
        "TS-ACL-003",
        f"tag:ci (now with alice@example.com as tag owner) {ARROW} tag:db:5432",
    ),
    "host alias re-pointed wider": (
        doc(hosts={"corp-db": "10.20.4.15"}, acls=[acl("group:eng", "corp-db:443")]),
        doc(hosts={"corp-db": "10.0.0.0/8"}, acls=[acl("group:eng", "corp-db:443")]),
        "TS-ACL-001",
        f"group:eng {ARROW} corp-db (now with 10.0.0.0/8):443",
    ),
    "IP set entry re-pointed wider": (
        doc(ipsets={"ipset:db": ["10.20.4.0/24"]}, acls=[acl("group:eng", "ipset:db:443")]),
        doc(ipsets={"ipset:db": ["10.20.0.0/16"]}, acls=[acl("group:eng", "ipset:db:443")]),
        "TS-ACL-010",
        f"group:eng {ARROW} ipset:db (now with 10.20.0.0/16):443",
    ),
    "destination 0.0.0.0/0": (
        doc(acls=[acl("group:eng", "10.0.0.0/24:443")]),
        doc(acls=[acl("group:eng", "0.0.0.0/0:443")]),
        "TS-ACL-001",
        f"group:eng {ARROW} 0.0.0.0/0:443",
    ),
    "posture condition removed": (
        doc(
            postures={"posture:mac": ["node:os == 'macos'"]},
            grants=[{**GRANT, "srcPosture": ["posture:mac"]}],
        ),
        doc(postures={"posture:mac": ["node:os == 'macos'"]}, grants=[GRANT]),
        "TS-ACL-013",
        "was only posture posture:mac",
    ),
    "grant via removed": (
        doc(grants=[{**GRANT, "via": ["tag:router"]}]),
        doc(grants=[GRANT]),
        "TS-ACL-013",
        "was only via tag:router",
    ),
    "app capability granted": (
        doc(grants=[GRANT]),
        doc(grants=[GRANT, {"src": ["group:eng"], "dst": ["tag:k8s"], "app": K8S}]),
        "TS-ACL-011",
        "capability tailscale.com/cap/kubernetes",
    ),
    "funnel for more nodes": (
        doc(nodeAttrs=[{"target": ["tag:web"], "attr": ["funnel"]}]),
        doc(nodeAttrs=[{"target": ["tag:web", "group:eng"], "attr": ["funnel"]}]),
        "TS-ACL-012",
        "node attribute funnel",
    ),
    "first policy allowing everything": (
        None,
        {"acls": [acl("*", "*:*")]},
        "TS-ACL-002",
        f"* {ARROW} *:*, was not reachable",
    ),
}


def _update(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    return record(
        "TAILNET.UPDATE.ACL",
        old=None if old is None else json.dumps(old),
        new=None if new is None else json.dumps(new),
    )


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_widening_names_what_became_reachable(name: str) -> None:
    narrow, wide, rule_id, words = CLASSES[name]
    rec = _update(narrow, wide)
    details = {f["rule_id"]: f["detail"] for f in rec["findings"]}
    assert rule_id in details, rec["findings"]
    assert words in details[rule_id]
    assert any(words in line for line in rec["policy_changes"]["became_reachable"])
    assert rec["severity"] in ("high", "medium")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_its_narrowing_raises_nothing(name: str) -> None:
    narrow, wide, _, _ = CLASSES[name]
    if narrow is None:
        narrow = {"acls": []}
    rec = _update(wide, narrow)
    assert rec["findings"] == []
    assert rec["severity"] == "info"
    assert rec["policy_changes"]["no_longer_reachable"]
    assert "became_reachable" not in rec["policy_changes"]


def test_comments_and_formatting_only_are_info() -> None:
    policy = doc(
        acls=ENG_PROD,
        ssh=[{"action": "check", "src": ["group:eng"], "dst": ["tag:prod"], "users": ["root"]}],
    )
    reformatted = "// reviewed by Zoë\n" + json.dumps(policy, indent=4).replace("]", ",]")
    rec = record("TAILNET.UPDATE.ACL", old=json.dumps(policy), new=reformatted)
    assert rec["findings"] == []
    assert rec["severity"] == "info"
    assert rec["policy_changes"] == {}


def test_root_ssh_with_accept_is_high_and_names_the_login() -> None:
    ssh = {"action": "accept", "src": ["group:eng"], "dst": ["tag:prod"], "users": ["root"]}
    rec = _update(doc(), doc(ssh=[ssh]))
    details = {f["rule_id"]: f["detail"] for f in rec["findings"]}
    assert (
        details["TS-ACL-005"]
        == f"group:eng {ARROW} tag:prod: SSH as root (accept), was not reachable"
    )
    assert rec["severity"] == "high"
