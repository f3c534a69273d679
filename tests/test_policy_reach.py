"""`reach_now`: how many users and devices a policy change touches, on this sync's snapshot.

Expected counts are worked out here from the emulator's raw devices and users, with plain
comprehensions, not with the tap's matching code.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import pytest

from tailscale_emulator import Emulator, OAuthClient
from tailscale_emulator.config import EmulatorConfig
from tailscale_emulator.dataset import Dataset
from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.policy.reach import ReachSnapshot, device_facts, user_facts
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, fast_settings, run_tap

TAILNET = "example.com"
SYNCED = "2026-01-04T00:00:00Z"
DATASET = Dataset(EmulatorConfig())
DEVICES: list[dict[str, Any]] = DATASET.devices(TAILNET, "all")
USERS: list[dict[str, Any]] = DATASET.users(TAILNET, type="all")
LOGINS = {u["loginName"] for u in USERS}
MEMBERS = {u["loginName"] for u in USERS if u["type"] == "member"}


def _snapshot() -> ReachSnapshot:
    devices = [f for f in map(device_facts, DEVICES) if f is not None]
    users = [f for f in map(user_facts, USERS) if f is not None]
    return ReachSnapshot(SYNCED, devices, users)


def _in_cgnat(device: dict[str, Any]) -> bool:
    cgnat = ipaddress.ip_network("100.64.0.0/10")
    return any(ipaddress.ip_address(a) in cgnat for a in device["addresses"] if "." in a)


ENG = ["alice@example.com", "bob@example.com", "ghost@elsewhere.example"]
CASES: dict[str, tuple[dict[str, Any], int, int]] = {
    "group to a tag": (
        {"groups": {"group:eng": ENG}, "acls": [
            {"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}]},
        len(LOGINS & set(ENG)),
        sum("tag:prod" in d["tags"] for d in DEVICES),
    ),
    "group to a tag no device carries": (
        {"groups": {"group:eng": ENG}, "acls": [
            {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]}]},
        len(LOGINS & set(ENG)),
        sum("tag:web" in d["tags"] for d in DEVICES),
    ),
    "members to their own devices": (
        {"ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"],
                  "users": ["autogroup:nonroot"]}]},
        len(MEMBERS),
        sum(not d["tags"] and d["user"] in MEMBERS for d in DEVICES),
    ),
    "everyone to a prefix": (
        {"acls": [{"action": "accept", "src": ["*"], "dst": ["100.64.0.0/10:*"]}]},
        len(LOGINS),
        sum(_in_cgnat(d) for d in DEVICES),
    ),
    "admins to tagged devices": (
        {"acls": [{"action": "accept", "src": ["autogroup:admin"],
                   "dst": ["autogroup:tagged:22"]}]},
        sum(u["role"] == "admin" for u in USERS),
        sum(bool(d["tags"]) for d in DEVICES),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_widening_counts_users_and_devices_of_the_snapshot(name: str) -> None:
    policy, users, devices = CASES[name]
    changes = analyse_policy(None, policy, _snapshot).changes
    assert changes is not None
    assert changes["reach_now"] == {
        "users_now_reaching": users,
        "devices_now_reachable": devices,
        "snapshot": f"devices and users as of {SYNCED} (this sync), not as of the event",
    }


def test_a_narrowing_counts_who_lost_access() -> None:
    policy, users, devices = CASES["group to a tag"]
    changes = analyse_policy(policy, {"groups": policy["groups"]}, _snapshot).changes
    assert changes is not None
    reach = changes["reach_now"]
    assert (reach["users_no_longer_reaching"], reach["devices_no_longer_reachable"]) == (
        users,
        devices,
    )
    assert "users_now_reaching" not in reach


def test_no_snapshot_or_no_access_change_gives_no_counts() -> None:
    policy = CASES["group to a tag"][0]
    assert "reach_now" not in (analyse_policy(None, policy).changes or {})
    assert "reach_now" not in (analyse_policy(None, policy, lambda: None).changes or {})
    asked: list[int] = []

    def reach() -> ReachSnapshot:
        asked.append(1)
        return _snapshot()

    comment_only = analyse_policy(policy, {**policy, "tests": []}, reach).changes
    assert "reach_now" not in (comment_only or {})
    assert asked == []  # no access change: the snapshot is not even taken


def _acl_records(run: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in run.records["admin_audit"]
        if (r["policy_changes"] or {}).get("became_reachable")
        or (r["policy_changes"] or {}).get("no_longer_reachable")
    ]


def _settings(emulator: Emulator) -> dict[str, Any]:
    return fast_settings(
        emulator.url,
        start_date=format_timestamp(NOW - timedelta(days=2)),
        end_date=format_timestamp(NOW),
    )


def test_a_sync_with_devices_and_users_counts_on_its_own_snapshot(emulator: Emulator) -> None:
    run = run_tap(_settings(emulator), streams=("admin_audit", "devices", "users"))
    assert run.error is None
    changed = _acl_records(run)
    assert changed, "the emulator's two days hold access-changing policy events"
    (synced,) = {r["synced_at"] for r in run.records["devices"]}
    assert len(run.records["devices"]) == len(DEVICES)
    devices_reads = [r for r in emulator.requests if r.path.endswith("/devices")]
    assert len(devices_reads) == 1  # the spooled list reached the devices stream
    for record in changed:
        reach = record["policy_changes"]["reach_now"]
        assert reach["snapshot"] == (
            f"devices and users as of {synced} (this sync), not as of the event"
        )
        if "users_now_reaching" in reach:
            assert 0 <= reach["users_now_reaching"] <= len(USERS)
            assert 0 <= reach["devices_now_reachable"] <= len(DEVICES)
        else:
            assert "users_no_longer_reaching" in reach


@pytest.mark.parametrize("inventory", [(), ("devices",), ("users",)])
def test_without_devices_and_users_selected_there_are_no_counts(
    emulator: Emulator, inventory: tuple[str, ...]
) -> None:
    run = run_tap(_settings(emulator), streams=("admin_audit", *inventory))
    assert run.error is None
    changed = _acl_records(run)
    assert changed
    assert all("reach_now" not in r["policy_changes"] for r in changed)


@pytest.mark.parametrize("denied", ["users:read", "devices:core:read"])
def test_a_list_the_credential_cannot_read_leaves_the_counts_out(
    emulator: Emulator, denied: str
) -> None:
    scopes = ("logs:configuration:read", "devices:core:read", "users:read")
    held = tuple(scope for scope in scopes if scope != denied)
    emulator.config.oauth_clients["scoped"] = OAuthClient(secret="scoped-secret-42", scopes=held)
    settings = {**_settings(emulator), "client_id": "scoped", "client_secret": "scoped-secret-42"}
    del settings["api_key"]
    run = run_tap(settings, streams=("admin_audit", "devices", "users"))
    assert run.error is None
    changed = _acl_records(run)
    assert changed
    assert all("reach_now" not in r["policy_changes"] for r in changed)
