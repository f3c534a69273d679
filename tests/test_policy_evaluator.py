"""The policy evaluator's semantics, case by case: HuJSON, targets, ports, SSH, conditions."""

from __future__ import annotations

from typing import Any

from tap_tailscale.policy import compare, parse_policy, relation
from tap_tailscale.policy.hujson import standardize
from tap_tailscale.policy.targets import Atom

ARROW = "\N{RIGHTWARDS ARROW}"


def wider(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    return compare(old, new).became_reachable()


def test_hujson_keeps_strings_and_drops_comments_and_trailing_commas() -> None:
    text = '// c "x"\n{ /* b, */ "a": "http://h//p /* no */ \\" //", "b": [1, 2, /* c */ ], }'
    assert parse_policy(text) == {"a": 'http://h//p /* no */ " //', "b": [1, 2]}
    assert standardize('{"a": [1,],}') == '{"a": [1]}'


def test_ssh_nonroot_covers_other_logins_but_not_root() -> None:
    def ssh(users: list[str], action: str = "accept") -> dict[str, Any]:
        return {"ssh": [{"action": action, "src": ["a@x"], "dst": ["tag:s"], "users": users}]}

    assert wider(ssh(["autogroup:nonroot"]), ssh(["ubuntu"])) == []
    assert wider(ssh(["autogroup:nonroot"]), ssh(["root"])) == [
        f"a@x {ARROW} tag:s: SSH as root (accept), was not reachable"
    ]
    assert wider(ssh(["ubuntu"]), ssh(["ubuntu"], "check")) == [], "accept covers check"


def test_protocols_and_port_ranges() -> None:
    def grant(*ip: str) -> dict[str, Any]:
        return {"grants": [{"src": ["a@x"], "dst": ["10.0.0.1"], "ip": list(ip)}]}

    assert wider(grant("*"), grant("udp:53", "tcp:1-1024")) == []
    assert wider(grant("tcp:*"), grant("udp:53")) == [
        f"a@x {ARROW} 10.0.0.1:53/udp, was not reachable"
    ]
    assert wider(grant("tcp:80", "tcp:82"), grant("tcp:80-82")) == [
        f"a@x {ARROW} 10.0.0.1:81/tcp, was not reachable"
    ]


def test_ipsets_ranges_hosts_and_removals() -> None:
    def policy(entries: list[str]) -> dict[str, Any]:
        return {
            "hosts": {"db": "10.9.0.5"},
            "ipsets": {"ipset:s": entries},
            "acls": [{"action": "accept", "src": ["a@x"], "dst": ["ipset:s:443"]}],
        }

    rows = relation(policy(["10.0.0.1-10.0.0.3", "host:db", "remove 10.0.0.2"]))
    assert {r.dst.value for r in rows} == {"10.0.0.1/32", "10.0.0.2/31", "10.9.0.5/32"}
    assert wider(policy(["10.0.0.0/8"]), policy(["10.1.0.0/16", "host:db"])) == []


def test_autogroups_cover_their_members() -> None:
    member = {"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["*:22"]}]}
    admins = {
        "acls": [{"action": "accept", "src": ["autogroup:admin", "b@x"], "dst": ["tag:a:22"]}]
    }
    assert wider(member, admins) == []
    tagged = {"acls": [{"action": "accept", "src": ["autogroup:tagged"], "dst": ["*:22"]}]}
    assert wider(tagged, {"acls": [{"action": "accept", "src": ["tag:a"], "dst": ["*:22"]}]}) == []
    assert wider(member, {"acls": [{"action": "accept", "src": ["*"], "dst": ["*:22"]}]})


def test_default_posture_applies_to_rules_without_their_own() -> None:
    postures = {"posture:mac": ["node:os == 'macos'"]}
    rule = {"action": "accept", "src": ["a@x"], "dst": ["tag:w:443"]}
    guarded = {"postures": postures, "defaultSrcPosture": ["posture:mac"], "acls": [rule]}
    open_ = {"postures": postures, "acls": [rule]}
    assert wider(guarded, open_) == [f"a@x {ARROW} tag:w:443, was only posture posture:mac"]
    assert wider(open_, guarded) == []


def test_undefined_group_is_opaque_and_keys_ignore_case() -> None:
    rows = relation({"ACLs": [{"Action": "accept", "Users": ["group:nope"], "Ports": ["*:*"]}]})
    assert [r.src for r in rows] == [Atom("other", "group:nope")]


def test_sentences_are_capped_with_a_count() -> None:
    rules = [{"action": "accept", "src": [f"u{i}@x"], "dst": [f"tag:t{i}:22"]} for i in range(60)]
    sentences = compare(None, {"acls": rules}).became_reachable()
    assert len(sentences) == 51
    assert sentences[-1] == "and 10 more"
