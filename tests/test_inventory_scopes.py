"""Missing scopes as the live API answers them: one warning each, a skip, the rest complete."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tailscale_emulator import Credential, Emulator, EmulatorConfig, OAuthClient, TailnetConfig
from tap_tailscale.client.exchange import ResponseRules, check_response
from tap_tailscale.errors import ApiRequestError
from tap_tailscale.inventory import KEY_PROPERTIES, dns_record
from tap_tailscale.scopes import KEY_KIND_SCOPES, ScopeNeed
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, error_line, fast_settings, run_cli, run_tap

KEY_SCOPES = tuple(KEY_KIND_SCOPES.values())
EVERY_SCOPE = (
    "logs:configuration:read",
    "logs:network:read",
    "devices:core:read",
    "users:read",
    *KEY_SCOPES,
    "policy_file:read",
    "dns:read",
)
INVENTORY = ("devices", "users", "keys", "policy", "dns")
LOGS = ("configuration_audit", "admin_audit", "network_flow", "network_connection")
PRIMARY = {
    **KEY_PROPERTIES,
    "configuration_audit": ["event_id"],
    "admin_audit": ["event_id"],
    "network_flow": ["flow_id"],
    "network_connection": ["connection_id"],
}
WINDOW = {
    "start_date": format_timestamp(NOW - timedelta(hours=6)),
    "end_date": format_timestamp(NOW),
}
SECRET = "scoped-client-secret-0123"


def _config(**overrides: Any) -> EmulatorConfig:
    return EmulatorConfig(dataset_start=NOW - timedelta(days=1), dataset_end=NOW, **overrides)


def _oauth(emulator: Emulator, scopes: tuple[str, ...], **overrides: Any) -> dict[str, Any]:
    emulator.config.oauth_clients["scoped"] = OAuthClient(secret=SECRET, scopes=scopes)
    settings = fast_settings(emulator.url, client_id="scoped", client_secret=SECRET, **WINDOW)
    del settings["api_key"]
    return {**settings, **overrides}


def _keys(records: dict[str, list[dict[str, Any]]]) -> dict[str, set[tuple[Any, ...]]]:
    return {
        stream: {tuple(r[k] for k in PRIMARY[stream]) for r in rows}
        for stream, rows in records.items()
    }


@pytest.fixture(scope="module")
def complete() -> dict[str, Any]:
    """Every stream's keys, and each key's kind, with every scope held."""
    with Emulator(_config()) as emulator:
        run = run_tap(_oauth(emulator, EVERY_SCOPE), streams=(*INVENTORY, *LOGS))
    assert run.error is None
    assert set(run.records) == {*INVENTORY, *LOGS}
    kinds = {r["id"]: r["keyType"] for r in run.records["keys"]}
    assert set(kinds.values()) == set(KEY_KIND_SCOPES)
    return {"keys": _keys(run.records), "kinds": kinds}


DENIALS = [
    ("devices:core:read",),
    ("users:read",),
    ("policy_file:read",),
    ("dns:read",),
    KEY_SCOPES,
    *((scope,) for scope in KEY_SCOPES),
]
STREAM_OF = {
    "devices:core:read": "devices",
    "users:read": "users",
    "policy_file:read": "policy",
    "dns:read": "dns",
}


@pytest.mark.parametrize("denied", DENIALS, ids=" ".join)
def test_each_denied_scope_is_one_warning_and_the_rest_is_complete(
    denied: tuple[str, ...], complete: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    held = tuple(s for s in EVERY_SCOPE if s not in denied)
    with Emulator(_config()) as emulator:
        run = run_tap(_oauth(emulator, held), streams=(*INVENTORY, *LOGS))
    assert run.error is None, run.error
    affected = STREAM_OF.get(denied[0], "keys")
    got, expected = _keys(run.records), complete["keys"]
    for stream in (*INVENTORY, *LOGS):
        if stream != affected:
            assert got[stream] == expected[stream], stream
    partial = affected == "keys" and len(denied) < len(KEY_SCOPES)
    if partial:
        kinds = {KIND for KIND, scope in KEY_KIND_SCOPES.items() if scope not in denied}
        wanted = {k for k in expected["keys"] if complete["kinds"][k[1]] in kinds}
        assert got["keys"] == wanted
    else:
        assert affected not in run.records
    naming = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and any(s in r.getMessage() for s in denied)
    ]
    assert len(naming) == 1, naming
    assert ("may be partial" in naming[0]) is partial
    assert "Traceback" not in caplog.text


def test_a_hidden_404_on_a_named_tailnet_is_a_skip_after_checking_the_tailnet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    tailnets = {"example.com": TailnetConfig(), "partner.example": TailnetConfig()}
    keys = {"k": Credential(scopes=("all:read",), other_tailnets=("partner.example",))}
    config = _config(tailnets=tailnets, api_keys=keys, denied_scopes=("users:read",))
    with Emulator(config) as emulator:
        settings = fast_settings(emulator.url, api_key="k", tailnets=list(tailnets), **WINDOW)
        run = run_tap(settings, streams=("users", "devices"))
        probes = [r for r in emulator.requests if r.path.endswith("/logging/configuration")]
    assert run.error is None
    assert {r["tailnet"] for r in run.records["devices"]} == set(tailnets)
    assert "users" not in run.records
    # One cause, one warning; the recap names every skipped tailnet.
    warnings = [r.getMessage() for r in caplog.records if "users:read" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "HTTP 404: not found" in warnings[0]
    assert "users [tailnet example.com], users [tailnet partner.example]" in caplog.text
    # The tailnet was checked once each, with a one-second configuration-log window.
    assert sorted(p.path.split("/")[4] for p in probes) == sorted(tailnets)


def test_a_tailnet_the_api_does_not_know_is_still_an_error(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.config.denied_scopes = ("users:read",)
    run = run_tap(fast_settings(emulator.url, tailnets=["nowhere.example"]), streams=("users",))
    assert run.error is not None
    assert run.error.exit_code == 2
    assert "does not know tailnet nowhere.example" in str(run.error)
    assert "lacks" not in caplog.text


def test_keys_with_only_auth_keys_read_is_partial_in_the_connection_test(
    emulator: Emulator, tmp_path: Path
) -> None:
    settings = _oauth(emulator, ("auth_keys:read", "logs:configuration:read"))
    result = run_cli(["--test"], config=settings, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    keys = next(line for line in result.stderr.splitlines() if "Connection test: keys" in line)
    assert (
        "PARTIAL: the list may be partial: the credential lacks `api_access_tokens:read`, "
        "`oauth_keys:read` and `federated_keys:read`"
    ) in keys
    assert "API access tokens, OAuth clients and federated identities" in keys


def test_a_token_request_for_an_unheld_scope_is_one_clear_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    settings = _oauth(
        emulator, ("logs:configuration:read",), oauth_scopes=["logs:configuration:read", "dns"]
    )
    result = run_cli([], config=settings, tmp_path=tmp_path)
    assert result.returncode == 2
    line = error_line(result.stderr)
    assert 'OAuth client cannot grant scopes "logs:configuration:read dns"' in line
    assert "oauth_scopes" in line
    assert SECRET not in result.stderr


def test_dns_falls_back_to_the_four_older_endpoints(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    emulator.config.refused_paths = ("dns/configuration",)
    run = run_tap(fast_settings(emulator.url, **WINDOW), streams=("dns",))
    assert run.error is None
    (record,) = run.records["dns"]
    bodies = emulator.dataset.dns("example.com")
    expected = dns_record(
        "example.com",
        record["synced_at"],
        nameservers=bodies["nameservers"],
        preferences=bodies["preferences"],
        search_paths=bodies["searchpaths"],
        split_dns=bodies["split-dns"],
    )
    assert record == expected
    configured = bodies["configuration"]
    assert [s["address"] for s in record["nameservers"]] == [
        s["address"] for s in configured["nameservers"]
    ]
    assert record["searchPaths"] == configured["searchPaths"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "read the four older DNS endpoints" in caplog.text


def test_a_device_shared_into_two_tailnets_is_two_rows() -> None:
    tailnets = {
        "example.com": TailnetConfig(),
        "partner.example": TailnetConfig(devices_shared_from="example.com"),
    }
    keys = {"k": Credential(other_tailnets=("partner.example",))}
    with Emulator(_config(tailnets=tailnets, api_keys=keys)) as emulator:
        settings = fast_settings(emulator.url, api_key="k", tailnets=list(tailnets), **WINDOW)
        run = run_tap(settings, streams=("devices",))
    rows = run.records["devices"]
    shared = {r["nodeId"] for r in rows if r["isExternal"] and r["tailnet"] == "partner.example"}
    assert len(shared) == 1
    both = [r for r in rows if r["nodeId"] in shared]
    assert {r["tailnet"] for r in both} == set(tailnets)
    assert len({(r["tailnet"], r["nodeId"]) for r in rows}) == len(rows)


def _answer(status: int, message: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = f'{{"message": "{message}"}}'.encode()
    return response


def test_a_403_about_the_tailnet_is_a_tailnet_error_not_a_scope() -> None:
    def forbidden(message: str) -> None:
        raise AssertionError(f"taken for a missing scope: {message}")

    rules = ResponseRules("users", "https://api.example", False, None, forbidden, list)
    with pytest.raises(ApiRequestError, match=r"refused the tailnet.*user tailnet does not match"):
        check_response(_answer(403, "user tailnet does not match"), rules)
    with pytest.raises(AssertionError, match="taken for a missing scope"):
        check_response(_answer(403, "calling actor does not have enough permissions"), rules)


def test_scope_labels_name_every_scope() -> None:
    assert ScopeNeed(("users:read",), hidden=True).label == "`users:read`"
    assert ScopeNeed(KEY_SCOPES).label == (
        "`auth_keys:read`, `api_access_tokens:read`, `oauth_keys:read` or `federated_keys:read`"
    )
