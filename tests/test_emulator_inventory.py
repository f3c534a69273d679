"""The emulator's inventory endpoints follow tailscale-inventory-api.md and join the flow logs."""

from __future__ import annotations

import base64
import ipaddress
import itertools
from datetime import timedelta
from typing import Any

import pytest
import requests

from tailscale_emulator import (
    DEFAULT_CLIENT_ID,
    FORBIDDEN_MESSAGE,
    Credential,
    Emulator,
    EmulatorConfig,
    hujson_to_json,
)
from tests.emulator_support import AUTH, END, TAILNET, http, make_config

__all__ = ["http"]  # fixtures

API = "/api/v2/tailnet/-"
DNS_PATHS = ("nameservers", "preferences", "searchpaths", "split-dns", "configuration")
INVENTORY_PATHS = ("devices", "users", "keys?all=true", "acl", *(f"dns/{p}" for p in DNS_PATHS))
# Every field tailscale-inventory-api.md §1 lists; "A" = only with fields=all.
DEFAULT_FIELDS = {
    "addresses", "id", "nodeId", "user", "name", "hostname", "clientVersion", "updateAvailable",
    "os", "created", "connectedToControl", "keyExpiryDisabled", "expires", "authorized",
    "isExternal", "machineKey", "nodeKey", "blocksIncomingConnections", "tags",
    "tailnetLockError", "tailnetLockKey", "isEphemeral",
}  # fmt: skip
ALL_ONLY = {
    "enabledRoutes", "advertisedRoutes", "clientConnectivity", "sshEnabled", "postureIdentity",
    "distro", "multipleConnections",
}  # fmt: skip
OPTIONAL = {"lastSeen", "multipleConnections", "distro"}


def day_config(**overrides: Any) -> EmulatorConfig:
    """One day of logs ending at END (the demo's length)."""
    return make_config(**{"dataset_start": END - timedelta(days=1), **overrides})


@pytest.fixture
def emu() -> Any:
    with Emulator(day_config()) as emulator:
        yield emulator


def get(
    http: requests.Session, emu: Emulator, path: str, *, auth: Any = AUTH, **kwargs: Any
) -> requests.Response:
    return http.get(f"{emu.url}{path}", auth=auth, timeout=10, **kwargs)


def host(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0].strip("[]")


# -------------------------------------------------------------------------------- devices


def test_devices_envelope_fields_and_default_subset(emu: Emulator, http: requests.Session) -> None:
    full = get(http, emu, f"{API}/devices?fields=all")
    assert full.status_code == 200
    assert list(full.json()) == ["devices"]
    devices = full.json()["devices"]
    assert devices == emu.dataset.devices(TAILNET, "all")
    for device in devices:
        assert DEFAULT_FIELDS <= set(device) <= DEFAULT_FIELDS | ALL_ONLY | OPTIONAL
        assert ("lastSeen" in device) == (not device["connectedToControl"])
        assert "key" not in device
    internal = [d for d in devices if not d["isExternal"]]
    assert all(set(d) >= ALL_ONLY - OPTIONAL for d in internal)
    default = get(http, emu, f"{API}/devices").json()["devices"]
    assert default == emu.dataset.devices(TAILNET, "default")
    assert [d["nodeId"] for d in default] == [d["nodeId"] for d in devices]
    assert all(not set(d) & ALL_ONLY for d in default)
    assert {d["os"] for d in devices if "distro" in d} == {"linux"}
    assert any(d.get("multipleConnections") for d in devices)  # copied node state


def test_external_device_has_the_documented_empty_fields(emu: Emulator) -> None:
    external = [d for d in emu.dataset.devices(TAILNET) if d["isExternal"]]
    assert len(external) == 1
    (device,) = external
    assert device["created"] == ""
    assert device["expires"] == "0001-01-01T00:00:00Z"
    assert device["machineKey"] == device["clientVersion"] == ""
    assert device["tags"] == []


def test_devices_join_the_flow_logs(emu: Emulator) -> None:
    devices = emu.dataset.devices(TAILNET)
    by_ip = {ip: d["nodeId"] for d in devices for ip in d["addresses"]}
    assert len(by_ip) == 2 * len(devices)  # addresses are unique
    flows = list(emu.dataset.all_network_logs(TAILNET))
    reporters = {r["nodeId"] for r in flows}
    inventory = {d["nodeId"] for d in devices}
    deleted = {d["nodeId"] for d in emu.dataset.deleted_devices(TAILNET)}
    assert reporters == set(emu.dataset.reporting_node_ids(TAILNET))
    assert reporters & inventory
    assert reporters - inventory == deleted != set()
    assert inventory - reporters  # devices that never report
    addresses = {d["nodeId"]: d["addresses"] for d in devices}
    # In virtualTraffic the `src` is always the reporting node.
    sources = [(r["nodeId"], host(c["src"])) for r in flows for c in r.get("virtualTraffic", [])]
    assert sources
    assert all(ip in addresses[node] for node, ip in sources if node in inventory)
    peers = [host(c["dst"]) for r in flows for c in r.get("virtualTraffic", []) if "dst" in c]
    assert {p for p in peers if p in by_ip}
    assert {p for p in peers if p not in by_ip}  # deleted devices and 100.100.100.100
    physical = [c for r in flows for c in r.get("physicalTraffic", [])]
    assert all(host(c["src"]) in by_ip or host(c["src"]) in _deleted_ips(emu) for c in physical)
    assert any(c["dst"].startswith("127.3.3.40:") for c in physical)
    endpoints = {e for d in devices for e in d.get("clientConnectivity", {}).get("endpoints", [])}
    assert any(c["dst"] in endpoints for c in physical)
    external = [
        c["dst"] for r in flows for c in r.get("subnetTraffic", []) + r.get("exitTraffic", [])
    ]
    assert external
    assert not any(ipaddress.ip_address(host(e)) in ipaddress.ip_network("100.64.0.0/10")
                   for e in external)  # fmt: skip


def _deleted_ips(emu: Emulator) -> set[str]:
    return {ip for d in emu.dataset.deleted_devices(TAILNET) for ip in d["addresses"]}


def test_device_filters_and_bad_parameters(emu: Emulator, http: requests.Session) -> None:
    every = emu.dataset.devices(TAILNET, "default")
    tagged = get(http, emu, f"{API}/devices?tags=tag:prod").json()["devices"]
    assert tagged == [d for d in every if "tag:prod" in d["tags"]]
    assert tagged
    linux = get(http, emu, f"{API}/devices", params={"os": "linux", "isEphemeral": "false"})
    assert linux.json()["devices"] == [
        d for d in every if d["os"] == "linux" and not d["isEphemeral"]
    ]
    assert get(http, emu, f"{API}/devices?fields=some").status_code == 400
    assert get(http, emu, f"{API}/devices?clientConnectivity=x").status_code == 400


def test_single_device_by_node_id_or_legacy_id(emu: Emulator, http: requests.Session) -> None:
    device = emu.dataset.devices(TAILNET)[0]
    by_node = get(http, emu, f"/api/v2/device/{device['nodeId']}?fields=all")
    assert by_node.json() == device  # a bare object, no envelope
    assert get(http, emu, f"/api/v2/device/{device['id']}?fields=all").json() == device
    gone = emu.dataset.deleted_devices(TAILNET)[0]["nodeId"]
    missing = get(http, emu, f"/api/v2/device/{gone}")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Device not found"}


# ---------------------------------------------------------------------------------- users


def test_users_default_to_members_and_filter_by_type_and_role(
    emu: Emulator, http: requests.Session
) -> None:
    members = get(http, emu, f"{API}/users").json()
    everyone = get(http, emu, f"{API}/users?type=all").json()["users"]
    assert list(members) == ["users"]
    assert members["users"] == emu.dataset.users(TAILNET)
    assert {u["type"] for u in members["users"]} == {"member"}
    shared = [u for u in everyone if u["type"] == "shared"]
    assert shared
    assert len(everyone) == len(members["users"]) + len(shared)
    assert get(http, emu, f"{API}/users?type=shared").json()["users"] == shared
    admins = get(http, emu, f"{API}/users?role=admin").json()["users"]
    assert admins
    assert {u["role"] for u in admins} == {"admin"}
    assert {u["status"] for u in everyone} >= {"active", "idle", "suspended"}
    for bad in ("type=guest", "role=root"):
        assert get(http, emu, f"{API}/users?{bad}").status_code == 400


def test_users_match_device_owners(emu: Emulator) -> None:
    users = {u["loginName"]: u for u in emu.dataset.users(TAILNET, type="all")}
    devices = emu.dataset.devices(TAILNET)
    assert {d["user"] for d in devices} <= set(users)
    for login, user in users.items():
        owned = [d for d in devices if d["user"] == login and not d["tags"]]
        assert user["deviceCount"] == len(owned)
        assert user["currentlyConnected"] == any(d["connectedToControl"] for d in owned)


# ----------------------------------------------------------------------------------- keys


def test_keys_list_every_kind_and_never_a_secret(emu: Emulator, http: requests.Session) -> None:
    body = get(http, emu, f"{API}/keys?all=true").json()
    assert list(body) == ["keys"]
    keys = body["keys"]
    assert keys == emu.dataset.keys(TAILNET)
    assert {k["keyType"] for k in keys} == {"auth", "api", "client", "federated"}
    assert all("key" not in k for k in keys)
    assert len({k["id"] for k in keys}) == len(keys)
    assert any(k["userId"] == "" for k in keys)  # created by a trust credential
    client = next(k for k in keys if k["keyType"] == "client")
    assert client["id"] == "kTf39CrCNTRL"  # the OAUTH_CLIENT actor of the audit events
    assert "expires" not in client


@pytest.mark.parametrize(
    ("scope", "kind"),
    [
        ("auth_keys:read", "auth"),
        ("api_access_tokens:read", "api"),
        ("oauth_keys:read", "client"),
        ("federated_keys:read", "federated"),
    ],
)
def test_each_key_scope_alone_lists_only_its_kind(
    http: requests.Session, scope: str, kind: str
) -> None:
    keys = {"one": Credential(scopes=(scope,))}
    with Emulator(day_config(api_keys=keys)) as emulator:
        answer = get(http, emulator, f"{API}/keys?all=true", auth=("one", ""))
    assert answer.status_code == 200  # as live: no word about the kinds left out
    assert {k["keyType"] for k in answer.json()["keys"]} == {kind}


def test_key_scopes_decide_which_kinds_are_listed(http: requests.Session) -> None:
    keys = {
        "auth-only": Credential(scopes=("auth_keys:read",)),
        "logs-only": Credential(scopes=("logs:network:read",)),
    }
    with Emulator(day_config(api_keys=keys)) as emulator:
        auth_only = get(http, emulator, f"{API}/keys?all=true", auth=("auth-only", ""))
        assert {k["keyType"] for k in auth_only.json()["keys"]} == {"auth"}
        denied = get(http, emulator, f"{API}/keys?all=true", auth=("logs-only", ""))
        assert denied.status_code == 403
        assert denied.json() == {"message": FORBIDDEN_MESSAGE}


def test_keys_without_all_show_only_the_callers_own(emu: Emulator, http: requests.Session) -> None:
    own = get(http, emu, f"{API}/keys").json()["keys"]
    assert own
    assert {k["userId"] for k in own} == {"uQx7Lm2CNTRL"}
    token = http.post(
        f"{emu.url}/api/v2/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": "emulator-client-secret",
        },
        timeout=10,
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    clients = get(http, emu, f"{API}/keys", auth=None, headers=bearer).json()["keys"]
    assert {k["keyType"] for k in clients} == {"client"}


# ------------------------------------------------------------------------------- policy


def test_policy_file_forms_share_one_etag(emu: Emulator, http: requests.Session) -> None:
    policy = emu.dataset.policy(TAILNET)
    text = get(http, emu, f"{API}/acl")
    hujson = get(http, emu, f"{API}/acl", headers={"Accept": "application/hujson"})
    as_json = get(http, emu, f"{API}/acl", headers={"Accept": "application/json"})
    details = get(http, emu, f"{API}/acl?details=true")
    for resp in (text, hujson, as_json, details):
        assert resp.status_code == 200
        assert resp.headers["ETag"] == policy.etag
    assert text.headers["Content-Type"] == "application/hujson"
    assert text.text == hujson.text == policy.hujson
    assert "//" in policy.hujson or "/*" in policy.hujson
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.json() == hujson_to_json(policy.hujson) == policy.json
    assert {"acls", "groups", "tagOwners"} <= set(as_json.json())
    body = details.json()
    assert set(body) == {"acl", "warnings", "errors"}
    assert base64.b64decode(body["acl"]).decode() == policy.hujson
    assert body["errors"] is None


def test_policy_is_the_last_update_and_its_etag_moves_with_it(http: requests.Session) -> None:
    seen = {}
    for hours in (0, 6, 12):
        end = END + timedelta(hours=hours)
        with Emulator(day_config(dataset_start=end - timedelta(days=1), dataset_end=end)) as emu:
            updates = list(emu.dataset.configuration_events(
                TAILNET, end - timedelta(days=1), end, event=["TAILNET.UPDATE.ACL"]
            ))  # fmt: skip
            policy = emu.dataset.policy(TAILNET)
            assert updates[-1]["new"] == policy.hujson
            seen[get(http, emu, f"{API}/acl").headers["ETag"]] = policy.hujson
    assert len(seen) == 3  # a policy update every 6 hours at the default pace


def test_a_day_of_audit_logs_holds_chained_policy_updates(emu: Emulator) -> None:
    updates = [
        e
        for e in emu.dataset.all_configuration_events(TAILNET)
        if e["target"].get("property") == "ACL"
    ]
    assert len(updates) >= 3
    for before, after in itertools.pairwise(updates):
        assert before["new"] == after["old"]
    for update in updates:
        assert update["action"] == "UPDATE"
        assert update["target"]["type"] == "TAILNET"
        assert update["old"] != update["new"]
        for side in ("old", "new"):
            assert "//" in update[side] or "/*" in update[side]
            hujson_to_json(update[side])
    widened = [u for u in updates if _wildcards(u["new"]) > _wildcards(u["old"])]
    narrowed = [u for u in updates if _acl_count(u["new"]) < _acl_count(u["old"])]
    assert widened
    assert narrowed


def _wildcards(policy: str) -> int:
    return sum("*:*" in rule["dst"] for rule in hujson_to_json(policy)["acls"])


def _acl_count(policy: str) -> int:
    return len(hujson_to_json(policy)["acls"])


# ---------------------------------------------------------------------------------- DNS


def test_dns_endpoints_have_their_own_envelopes(emu: Emulator, http: requests.Session) -> None:
    bodies = {p: get(http, emu, f"{API}/dns/{p}").json() for p in DNS_PATHS}
    assert bodies == emu.dataset.dns(TAILNET)
    assert list(bodies["nameservers"]) == ["dns"]
    assert bodies["preferences"] == {"magicDNS": True}
    assert list(bodies["searchpaths"]) == ["searchPaths"]
    assert None in bodies["split-dns"].values()  # a domain with no resolvers is null
    assert set(bodies["configuration"]) == {"nameservers", "splitDNS", "searchPaths", "preferences"}
    addresses = [n["address"] for n in bodies["configuration"]["nameservers"]]
    assert addresses == bodies["nameservers"]["dns"]


# ------------------------------------------------------------------------------- scopes


@pytest.mark.parametrize("how", ["config", "constructor"])
def test_denied_inventory_scopes_answer_as_live_and_logs_still_work(
    http: requests.Session, how: str
) -> None:
    if how == "config":
        emulator = Emulator(day_config(deny_inventory_scopes=True))
    else:
        emulator = Emulator(day_config(), deny_inventory_scopes=True)
    with emulator:
        for path in INVENTORY_PATHS:
            resp = get(http, emulator, f"{API}/{path}")
            assert resp.headers["Content-Type"] == "application/json"
            # /users hides itself (404 `not found`); the others say 403, naming no scope.
            if path == "users":
                assert (resp.status_code, resp.json()) == (404, {"message": "not found"})
            else:
                assert (resp.status_code, resp.json()) == (403, {"message": FORBIDDEN_MESSAGE})
        window = {"start": "2025-03-09T12:00:00Z", "end": "2025-03-09T13:00:00Z"}
        for kind in ("configuration", "network"):
            logs = get(http, emulator, f"{API}/logging/{kind}", params=window)
            assert logs.status_code == 200


def test_credential_scopes_gate_each_endpoint(http: requests.Session) -> None:
    keys = {"dns-only": Credential(scopes=("dns:read",))}
    with Emulator(day_config(api_keys=keys)) as emulator:
        statuses = {
            p: get(http, emulator, f"{API}/{p}", auth=("dns-only", "")).status_code
            for p in INVENTORY_PATHS
        }
    expected = {p: 200 if p.startswith("dns/") else 403 for p in INVENTORY_PATHS}
    assert statuses == {**expected, "users": 404}
