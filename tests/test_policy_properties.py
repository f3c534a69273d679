"""Properties of the policy evaluator over generated policies (hypothesis).

Adding a rule, a group member or a tag owner never narrows access; removing one never
widens it; rewriting a policy's text (comments, indentation, key order, trailing commas)
changes nothing.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.policy import compare

USERS = [f"u{i}@example.com" for i in range(4)]
GROUPS = [f"group:g{i}" for i in range(3)]
TAGS = [f"tag:t{i}" for i in range(3)]
HOSTS = {"db": "10.1.2.3", "lan": "10.1.0.0/16", "wide": "10.0.0.0/8"}
SOURCES = [*USERS, *GROUPS, *TAGS, "*", "autogroup:member", "autogroup:tagged", "10.1.2.0/24"]
TARGETS = [*TAGS, *GROUPS, *HOSTS, "autogroup:self", "autogroup:internet", "*", "10.0.0.0/8"]
PORTS = ["*", "22", "443", "80,443", "5000-6000"]
POSTURES = {"posture:mac": ["node:os == 'macos'"], "posture:new": ["node:tsVersion >= '1.60'"]}

pick = st.sampled_from
sources = st.lists(pick(SOURCES), min_size=1, max_size=3, unique=True)
targets = st.lists(pick(TARGETS), min_size=1, max_size=2, unique=True)
acl = st.fixed_dictionaries(
    {
        "action": st.just("accept"),
        "src": sources,
        "dst": st.lists(
            st.tuples(pick(TARGETS), pick(PORTS)).map(":".join), min_size=1, max_size=2
        ),
    }
)
grant = st.fixed_dictionaries(
    {
        "src": sources,
        "dst": targets,
        "ip": st.lists(pick(["*", "tcp:443", "udp:53", "22"]), min_size=1, max_size=2),
    },
    optional={
        "srcPosture": st.lists(pick(sorted(POSTURES)), min_size=1, max_size=1),
        "via": st.lists(pick(TAGS), min_size=1, max_size=1),
        "app": st.just({"example.com/cap/x": [{"role": "reader"}]}),
    },
)
ssh = st.fixed_dictionaries(
    {
        "action": pick(["accept", "check"]),
        "src": sources,
        "dst": st.lists(pick([*TAGS, "autogroup:self"]), min_size=1, max_size=2),
        "users": st.lists(pick(["root", "autogroup:nonroot", "ubuntu"]), min_size=1, max_size=2),
    }
)
rule = st.one_of(acl.map(lambda r: ("acls", r)), grant.map(lambda r: ("grants", r)),
                 ssh.map(lambda r: ("ssh", r)))  # fmt: skip
members = st.lists(pick(USERS), max_size=3, unique=True)
owners = st.lists(pick([*USERS, *GROUPS, "autogroup:admin", *TAGS]), max_size=2, unique=True)


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "groups": {g: draw(members) for g in GROUPS},
        "tagOwners": {t: draw(owners) for t in TAGS},
        "hosts": HOSTS,
        "postures": POSTURES,
        "acls": [], "grants": [], "ssh": [],
        "nodeAttrs": [{"target": draw(sources), "attr": ["funnel"]}],
        "autoApprovers": {"routes": {"10.1.0.0/16": draw(sources)}, "exitNode": draw(sources)},
    }  # fmt: skip
    for section, entry in draw(st.lists(rule, max_size=6)):
        policy[section].append(entry)
    return policy


def _assert_only_wider(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert compare(old, new).narrowed == [], "a policy with more in it never narrows"
    assert compare(new, old).widened == [], "a policy with less in it never widens"


# Derandomized and without an example database: every run checks the same 60 cases per
# property, and the suite writes no files.
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)


@SETTINGS
@given(policies(), rule)
def test_adding_a_rule_never_narrows(policy: dict[str, Any], extra: tuple[str, Any]) -> None:
    wider = copy.deepcopy(policy)
    wider[extra[0]].append(extra[1])
    _assert_only_wider(policy, wider)


@SETTINGS
@given(policies(), pick(GROUPS), pick(USERS))
def test_adding_a_group_member_never_narrows(policy: dict[str, Any], group: str, user: str) -> None:
    wider = copy.deepcopy(policy)
    wider["groups"][group] = sorted({*wider["groups"][group], user})
    _assert_only_wider(policy, wider)


@SETTINGS
@given(policies(), pick(TAGS), pick([*USERS, *GROUPS, "autogroup:member", *TAGS]))
def test_adding_a_tag_owner_never_narrows(policy: dict[str, Any], tag: str, owner: str) -> None:
    wider = copy.deepcopy(policy)
    wider["tagOwners"][tag] = [*wider["tagOwners"][tag], owner]
    _assert_only_wider(policy, wider)


@SETTINGS
@given(policies(), st.data())
def test_removing_a_rule_never_widens(policy: dict[str, Any], data: st.DataObject) -> None:
    filled = [name for name in ("acls", "grants", "ssh") if policy[name]]
    if not filled:
        return
    section = data.draw(pick(filled))
    narrower = copy.deepcopy(policy)
    del narrower[section][data.draw(st.integers(0, len(narrower[section]) - 1))]
    assert compare(policy, narrower).widened == []


def _hujson(policy: dict[str, Any], indent: int, reverse: bool) -> str:
    def order(value: Any) -> Any:
        if isinstance(value, dict):
            keys = sorted(value, reverse=reverse)
            return {k: order(value[k]) for k in keys}
        if isinstance(value, list):
            return [order(item) for item in value]
        return value

    text = json.dumps(order(policy), indent=indent, ensure_ascii=False)
    # Trailing commas after every closing element, and comments between lines.
    text = text.replace("\n" + " " * indent + "]", ",\n" + " " * indent + "]")
    return "// generated policy\n" + text.replace("{\n", "{ /* block */\n", 1) + "\n// end\n"


@SETTINGS
@given(policies(), st.integers(1, 8), st.booleans())
def test_reformatting_changes_nothing(policy: dict[str, Any], indent: int, reverse: bool) -> None:
    analysis = analyse_policy(json.dumps(policy), _hujson(policy, indent, reverse))
    assert analysis.error is None
    assert analysis.changes == {}
    assert analysis.risks == {}
