"""admin_audit normalization: event table, severity, overrides, cursor, summaries, record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tap_tailscale.admin_audit import (
    EVENT_TYPES,
    SEVERITIES,
    SeverityPolicy,
    admin_audit_record,
    default_severity,
    event_type,
    make_cursor,
    normalize_action,
    policy_diff,
    summary_sentence,
)
from tap_tailscale.timeutil import normalize_timestamp as T  # noqa: N812

if TYPE_CHECKING:
    from collections.abc import Mapping

DATA = Path(__file__).parent / "data" / "config-events.txt"

# Every event value of the API spec with the action it must normalize to. A mapping
# change is meant to show up here as a visible diff.
EXPECTED_ACTIONS = {
    "ADMIN_CONSOLE.LOGIN": "session:login",
    "ADMIN_CONSOLE.LOGOUT": "session:logout",
    "API_KEY.CREATE": "auth_key:create",
    "API_KEY.EXPIRED": "auth_key:expire",
    "API_KEY.REVOKE": "auth_key:delete",
    "BILLING.CANCEL.SUBSCRIPTION": "billing:cancel_subscription",
    "BILLING.CREATE.SUBSCRIPTION": "billing:create_subscription",
    "BILLING.UPDATE.ADDRESS": "billing:update",
    "BILLING.UPDATE.BILLING_OWNER": "billing:update_owner",
    "BILLING.UPDATE.EMAIL": "billing:update",
    "BILLING.UPDATE.PAYMENT_INFO": "billing:update",
    "BILLING.UPDATE.STRIPE_CUSTOMER_ID": "billing:update",
    "BILLING.UPDATE.SUBSCRIPTION": "billing:update_subscription",
    "FAILED_REQUEST.UPDATE": "request:fail",
    "GROUP.PUSH_GROUP.ATTRIBUTES": "group:sync",
    "INVITE.ACCEPT.FEATURE": "feature:accept",
    "INVITE.ACCEPT.NODE_SHARE": "share:accept",
    "INVITE.ACCEPT.TAILNET_INVITE": "invite:accept",
    "INVITE.CREATE.FEATURE": "feature:invite",
    "INVITE.CREATE.NODE_SHARE": "share:invite",
    "INVITE.CREATE.TAILNET_INVITE": "user:invite",
    "INVITE.DELETE.NODE_SHARE": "share:delete",
    "INVITE.DELETE.TAILNET_INVITE": "invite:delete",
    "INVITE.RESEND.NODE_SHARE": "share:resend",
    "INVITE.RESEND.TAILNET_INVITE": "invite:resend",
    "NODE.APPROVE": "device:approve",
    "NODE.CREATE": "device:create",
    "NODE.CREATE.ATTRIBUTES": "device:update",
    "NODE.DELETE": "device:delete",
    "NODE.DELETE.ATTRIBUTES": "device:update",
    "NODE.DISABLE.KEY_EXPIRY": "device:update",
    "NODE.DISCONNECT_NODE.CLIENT_LOG": "device:disconnect",
    "NODE.ENABLE.KEY_EXPIRY": "device:update",
    "NODE.EXPIRED.KEY_EXPIRY_TIME": "node_key:expire",
    "NODE.LOGIN": "device:login",
    "NODE.LOGOUT": "device:logout",
    "NODE.REVOKE": "device:revoke",
    "NODE.UPDATE.ACL_TAGS": "tag:update",
    "NODE.UPDATE.ALLOWED_IPS": "routes:approve",
    "NODE.UPDATE.ATTRIBUTES": "device:update",
    "NODE.UPDATE.AUTO_APPROVED_ROUTES": "routes:set_advertised",
    "NODE.UPDATE.EXIT_NODE": "routes:approve",
    "NODE.UPDATE.KEY_EXPIRY_TIME": "device:expire_key",
    "NODE.UPDATE.MACHINE_NAME": "device:update",
    "NODE.UPDATE.POSTURE_IDENTITY": "device:update",
    "NODE.UPDATE.TKA": "device:update",
    "SHARE.CREATE": "share:create",
    "SHARE.DELETE": "share:delete",
    "SHARE.UPDATE": "share:update",
    "TAILNET.ACCEPT.FEATURE": "feature:accept",
    "TAILNET.CREATE": "tailnet:create",
    "TAILNET.CREATE.LOGSTREAM_ENDPOINT": "logging:set_config",
    "TAILNET.CREATE.POSTURE_INTEGRATION": "posture:create",
    "TAILNET.CREATE.TKA": "settings:update",
    "TAILNET.DELETE.LOGSTREAM_ENDPOINT": "logging:set_config",
    "TAILNET.DELETE.POSTURE_INTEGRATION": "posture:delete",
    "TAILNET.DELETE.TKA": "settings:update",
    "TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY": "settings:update",
    "TAILNET.DISABLE.COLLECT_SERVICES": "settings:update",
    "TAILNET.DISABLE.FILE_SHARING": "settings:update",
    "TAILNET.DISABLE.GEOSTEERING": "settings:update",
    "TAILNET.DISABLE.HTTPS": "settings:update",
    "TAILNET.DISABLE.LOG_EXIT_FLOWS": "logging:set_config",
    "TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED": "settings:update",
    "TAILNET.DISABLE.MAGIC_DNS": "settings:update",
    "TAILNET.DISABLE.MULLVAD_VPN": "settings:update",
    "TAILNET.DISABLE.NETWORK_FLOW_LOGGING": "logging:set_config",
    "TAILNET.DISABLE.SCIM": "settings:update",
    "TAILNET.DISABLE.TKA": "settings:update",
    "TAILNET.DISABLE.USER_APPROVAL_REQUIRED": "settings:update",
    "TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY": "settings:update",
    "TAILNET.ENABLE.COLLECT_SERVICES": "settings:update",
    "TAILNET.ENABLE.FILE_SHARING": "settings:update",
    "TAILNET.ENABLE.GEOSTEERING": "settings:update",
    "TAILNET.ENABLE.HTTPS": "settings:update",
    "TAILNET.ENABLE.LOG_EXIT_FLOWS": "logging:set_config",
    "TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED": "settings:update",
    "TAILNET.ENABLE.MAGIC_DNS": "settings:update",
    "TAILNET.ENABLE.MULLVAD_VPN": "settings:update",
    "TAILNET.ENABLE.NETWORK_FLOW_LOGGING": "logging:set_config",
    "TAILNET.ENABLE.SCIM": "settings:update",
    "TAILNET.ENABLE.TKA": "settings:update",
    "TAILNET.ENABLE.USER_APPROVAL_REQUIRED": "settings:update",
    "TAILNET.JOIN": "tailnet:join",
    "TAILNET.JOIN_WAITLIST.FEATURE": "feature:join_waitlist",
    "TAILNET.LEAVE": "tailnet:leave",
    "TAILNET.UPDATE.ACCOUNT_EMAIL": "settings:update",
    "TAILNET.UPDATE.ACL": "acl:update",
    "TAILNET.UPDATE.DNS_CONFIG": "settings:update",
    "TAILNET.UPDATE.LOGSTREAM_ENDPOINT": "logging:set_config",
    "TAILNET.UPDATE.MAX_KEY_DURATION": "settings:update",
    "TAILNET.UPDATE.POSTURE_INTEGRATION": "posture:update",
    "TAILNET.UPDATE.SECURITY_EMAIL": "settings:update",
    "TAILNET.UPDATE.SUPPORT_EMAIL": "settings:update",
    "TAILNET.UPDATE.TCD": "settings:update",
    "TAILNET.UPDATE.TKA": "settings:update",
    "TAILNET.VERIFY.ACCOUNT_EMAIL": "contact:verify",
    "TAILNET.VERIFY.SECURITY_EMAIL": "contact:verify",
    "TAILNET.VERIFY.SUPPORT_EMAIL": "contact:verify",
    "USER.APPROVE": "user:approve",
    "USER.CREATE": "user:create",
    "USER.DELETE": "user:delete",
    "USER.INVITE": "user:invite",
    "USER.PUSH_USER.ATTRIBUTES": "user:sync",
    "USER.RESEND.TAILNET_INVITE": "invite:resend",
    "USER.RESTORE": "user:restore",
    "USER.RESTORE_GLOBAL": "user:restore",
    "USER.SUSPEND": "user:suspend",
    "USER.SUSPEND_GLOBAL": "user:suspend",
    "USER.UPDATE.USER_ROLE": "user:role_update",
    "WEBHOOK_ENDPOINT.CREATE": "webhook:create",
    "WEBHOOK_ENDPOINT.DELETE": "webhook:delete",
    "WEBHOOK_ENDPOINT.UPDATE.SECRET": "webhook:update",
    "WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS": "webhook:update",
    "WEB_INTERFACE.LOGIN": "session:login",
    "WEB_INTERFACE.LOGOUT": "session:logout",
}


def _spec_events() -> list[str]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _split(value: str) -> tuple[str, str, str | None]:
    parts = value.split(".", 2)
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


def _event(ev: str, **extra: object) -> dict[str, object]:
    ttype, action, prop = _split(ev)
    event: dict[str, object] = {
        "eventTime": "2025-03-04T09:12:44.318207Z",
        "type": "CONFIG",
        "deferredAt": None,
        "eventGroupID": "a41c9e07d2b85f3361e0c4a9b7d2f518",
        "origin": "ADMIN_CONSOLE",
        "actor": {
            "id": "uQx7Lm2CNTRL",
            "type": "USER",
            "loginName": "alice@example.com",
            "displayName": "Alice Example",
        },
        "target": {"id": "nT1", "name": "web-1.tail1a2b3.ts.net", "type": ttype},
        "action": action,
        "tailnet": "example.com",
        "event_id": "e1",
    }
    if prop is not None:
        event["target"]["property"] = prop  # type: ignore[index]
    event.update(extra)
    return event


# --- mapping -------------------------------------------------------------------


def test_fixture_lists_the_116_spec_event_values_in_order() -> None:
    events = _spec_events()
    assert len(events) == 116
    assert len(set(events)) == 116
    assert tuple(events) == EVENT_TYPES


def test_expected_table_covers_exactly_the_spec_events() -> None:
    assert set(EXPECTED_ACTIONS) == set(_spec_events())


@pytest.mark.parametrize(("ev", "expected"), sorted(EXPECTED_ACTIONS.items()))
def test_every_spec_event_maps_to_its_action(ev: str, expected: str) -> None:
    assert normalize_action(*_split(ev)) == expected


@pytest.mark.parametrize("ev", sorted(EXPECTED_ACTIONS))
def test_every_spec_event_round_trips_through_event_type(ev: str) -> None:
    assert event_type(_event(ev)) == ev


def test_every_spec_event_produces_a_record() -> None:
    policy = SeverityPolicy()
    for ev in _spec_events():
        record = admin_audit_record(_event(ev), policy=policy)
        assert record["severity"] in SEVERITIES
        assert record["summary"]
        assert record["summary"] == record["summary"].strip()


def test_inputs_are_case_and_whitespace_insensitive() -> None:
    assert normalize_action("node", " approve ", None) == "device:approve"
    assert normalize_action("NODE", "UPDATE", "acl_tags") == "tag:update"
    assert normalize_action("NODE", "APPROVE", "") == "device:approve"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("TAILNET", "DELETE", None), "tailnet:delete"),
        (("NEW_THING", "FROB", None), "new_thing:frob"),
        (("NEW_THING", "FROB", "SOME_PROP"), "new_thing:frob"),
        (("NODE", "FROB", None), "node:frob"),
        (("NODE", "DELETE", "NEW_PROP"), "node:delete"),
        ((None, "CREATE", None), "unknown:create"),
        (("NODE", None, None), "node:unknown"),
        ((None, None, None), "unknown:unknown"),
    ],
)
def test_fallback_is_lower_case_target_type_and_action(
    args: tuple[str | None, str | None, str | None], expected: str
) -> None:
    assert normalize_action(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("TAILNET", "ENABLE", "BRAND_NEW_TOGGLE"), "settings:update"),
        (("TAILNET", "DISABLE", "MACHINE_AUTH_NEEDED"), "settings:update"),
        (("NODE", "UPDATE", "BRAND_NEW_FIELD"), "device:update"),
        (("USER", "UPDATE", "BRAND_NEW_FIELD"), "user:update"),
        (("WEBHOOK_ENDPOINT", "UPDATE", "URL"), "webhook:update"),
        (("BILLING", "UPDATE", "TAX_ID"), "billing:update"),
        (("TAILNET", "DELETE", "ACL"), "acl:delete"),
        (("TAILNET", "UPDATE", "AUTH_PROVIDER"), "oidc:update"),
        (("TAILNET", "MIGRATE_AUTH_PROVIDER", None), "oidc:update"),
        (("USER", "MIGRATE_AUTH_PROVIDER", "AUTH_PROVIDER"), "oidc:update"),
    ],
)
def test_property_wide_rules_for_values_outside_the_spec_list(
    args: tuple[str, str, str | None], expected: str
) -> None:
    assert normalize_action(*args) == expected


def test_unknown_or_malformed_events_never_raise() -> None:
    policy = SeverityPolicy()
    odd_events: list[dict[str, object]] = [
        {},
        {"actor": None, "target": None},
        {"actor": "x", "target": ["y"], "action": 7},
        {"target": {"type": "SPACESHIP", "property": "WARP"}, "action": "ENGAGE"},
    ]
    for event in odd_events:
        record = admin_audit_record(event, policy=policy)
        assert record["source"] == "tailscale"
        assert record["category"] == "network"
        assert record["cursor"] is None
        assert record["severity"] in SEVERITIES
    assert admin_audit_record(odd_events[3], policy=policy)["action"] == "spaceship:engage"
    assert event_type({}) == "UNKNOWN.UNKNOWN"


def test_missing_fields_become_none() -> None:
    record = admin_audit_record(
        {"action": "CREATE", "target": {"type": "NODE"}}, policy=SeverityPolicy()
    )
    assert record["action"] == "device:create"
    for key in ("cursor", "event_id", "tailnet", "event_time", "origin", "error", "old", "new"):
        assert record[key] is None, key
    assert record["policy_diff"] is None
    assert record["actor"] == {
        "id": None,
        "type": None,
        "login_name": None,
        "display_name": None,
        "tags": None,
    }
    assert record["target"] == {"id": None, "name": None, "type": "NODE", "property": None}
    assert record["outcome"] == "success"
    assert record["summary"] == "An automated process added device (unknown)"


# --- severity ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("acl:update", "info"),
        ("acl:delete", "high"),
        ("device:approve", "high"),
        ("device:delete", "high"),
        ("device:expire_key", "high"),
        ("routes:approve", "high"),
        ("routes:set_advertised", "high"),
        ("auth_key:create", "high"),
        ("auth_key:delete", "medium"),
        ("user:invite", "high"),
        ("user:delete", "medium"),
        ("user:role_update", "high"),
        ("oidc:update", "high"),
        ("saml:update", "high"),
        ("tailnet:transfer_ownership", "high"),
        ("tailnet:delete", "high"),
        ("webhook:create", "medium"),
        ("webhook:update", "medium"),
        ("webhook:delete", "high"),
        ("settings:update", "medium"),
        ("logging:set_config", "medium"),
        ("device:update", "medium"),
        ("tag:update", "medium"),
        ("posture:create", "medium"),
        ("posture:update", "medium"),
        ("posture:delete", "medium"),
        ("share:delete", "medium"),
        ("invite:delete", "medium"),
        ("brand_new:delete", "medium"),
        ("brand_new:remove", "medium"),
        ("session:login", "info"),
        ("device:create", "info"),
        ("auth_key:expire", "info"),
        ("node_key:expire", "info"),
        ("billing:update", "info"),
        ("brand_new:frob", "info"),
        ("delete", "info"),
        (":delete", "info"),
        ("device:deleted", "info"),
    ],
)
def test_default_severity_table(action: str, expected: str) -> None:
    assert default_severity(action) == expected
    assert SeverityPolicy().severity(action) == expected


def test_default_severity_of_key_spec_events() -> None:
    def sev(ev: str) -> str:
        return default_severity(normalize_action(*_split(ev)), ev)

    def record_sev(ev: str) -> str:
        return str(admin_audit_record(_event(ev), policy=SeverityPolicy())["severity"])

    assert sev("TAILNET.UPDATE.ACL") == "info", "the access diff's rules rate ACL changes"
    assert sev("API_KEY.REVOKE") == "medium"
    assert sev("TAILNET.ENABLE.TKA") == "info", "switching tailnet lock on hardens"
    assert record_sev("TAILNET.ENABLE.TKA") == "info"
    assert sev("TAILNET.DISABLE.NETWORK_FLOW_LOGGING") == "medium"
    assert record_sev("TAILNET.DISABLE.NETWORK_FLOW_LOGGING") == "high", "through TS-LOG-001"
    assert record_sev("TAILNET.DELETE.LOGSTREAM_ENDPOINT") == "high", "through TS-LOG-003"
    assert record_sev("TAILNET.DISABLE.TKA") == "high", "through TS-TKA-001"
    assert sev("NODE.DISABLE.KEY_EXPIRY") == "medium"
    assert sev("NODE.EXPIRED.KEY_EXPIRY_TIME") == "info"
    assert sev("ADMIN_CONSOLE.LOGIN") == "info"


# --- overrides -----------------------------------------------------------------


def test_exact_override_wins_over_table() -> None:
    policy = SeverityPolicy({"session:login": "high", "acl:update": "info"})
    assert policy.severity("session:login") == "high"
    assert policy.severity("acl:update") == "info"
    assert policy.severity("device:delete") == "high"


def test_glob_override() -> None:
    policy = SeverityPolicy({"device:*": "info"})
    assert policy.severity("device:delete") == "info"
    assert policy.severity("device:update") == "info"
    assert policy.severity("routes:approve") == "high"


def test_exact_beats_glob_and_longest_glob_wins() -> None:
    policy = SeverityPolicy(
        {
            "*": "info",
            "device:*": "medium",
            "device:expire_*": "high",
            "device:delete": "info",
        }
    )
    assert policy.severity("device:delete") == "info"
    assert policy.severity("device:expire_key") == "high"
    assert policy.severity("device:approve") == "medium"
    assert policy.severity("acl:update") == "info"


def test_equal_length_globs_tie_to_the_higher_severity() -> None:
    policy = SeverityPolicy({"device:*": "info", "*:delete": "high"})
    assert policy.severity("device:delete") == "high"
    assert policy.severity("device:update") == "info"


def test_override_keys_and_values_are_case_insensitive() -> None:
    policy = SeverityPolicy({" Device:Delete ": "MEDIUM"})
    assert policy.severity("device:delete") == "medium"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"device:delete": "critical"}, "'device:delete' -> 'critical'"),
        ({"device:*": ""}, "'device:*' -> ''"),
        ({"device:*": None}, "'device:*' -> None"),
        ({"device:*": 3}, "'device:*' -> 3"),
        ({"": "high"}, "'' -> 'high'"),
    ],
)
def test_invalid_override_raises_naming_the_entry(
    overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(ValueError, match="severity_overrides") as excinfo:
        SeverityPolicy(overrides)  # type: ignore[arg-type]
    assert needle in str(excinfo.value)


def test_non_mapping_overrides_raise() -> None:
    with pytest.raises(ValueError, match="mapping"):
        SeverityPolicy(["device:*"])  # type: ignore[arg-type]


def test_none_and_empty_overrides_use_defaults() -> None:
    assert SeverityPolicy(None).severity("acl:delete") == "high"
    assert SeverityPolicy(None).severity("settings:update", "TAILNET.ENABLE.TKA") == "info"
    assert (
        SeverityPolicy({"settings:*": "high"}).severity("settings:update", "TAILNET.ENABLE.TKA")
        == "high"
    ), "an override of the action beats the hardening default"
    assert SeverityPolicy({}).severity("session:login") == "info"


def test_record_severity_uses_policy() -> None:
    policy = SeverityPolicy({"tag:*": "high"})
    record = admin_audit_record(_event("NODE.UPDATE.ACL_TAGS"), policy=policy)
    assert record["action"] == "tag:update"
    assert record["severity"] == "high"


# --- refinements ---------------------------------------------------------------


def test_role_update_to_owner_is_ownership_transfer() -> None:
    event = _event("USER.UPDATE.USER_ROLE", old="member", new="owner")
    event["target"] = {
        "id": "uC9",
        "name": "sam@example.com",
        "type": "USER",
        "property": "USER_ROLE",
    }
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["action"] == "tailnet:transfer_ownership"
    assert record["severity"] == "high"
    assert (
        record["summary"]
        == "alice@example.com transferred ownership of the tailnet to sam@example.com"
    )

    event["new"] = "admin"
    assert admin_audit_record(event, policy=SeverityPolicy())["action"] == "user:role_update"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("google", "okta-oidc", "oidc:update"),
        (None, {"type": "SAML", "issuer": "x"}, "saml:update"),
        ("github", "saml/okta", "saml:update"),
    ],
)
def test_auth_provider_is_oidc_unless_values_mention_saml(
    old: object, new: object, expected: str
) -> None:
    event = _event("TAILNET.UPDATE.AUTH_PROVIDER", old=old, new=new)
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["action"] == expected
    assert record["severity"] == "high"
    assert record["summary"] == "alice@example.com changed the tailnet's identity provider"


def test_migrate_auth_provider_action() -> None:
    event = _event("TAILNET.MIGRATE_AUTH_PROVIDER", new="SAML")
    assert admin_audit_record(event, policy=SeverityPolicy())["action"] == "saml:update"


# --- record shape --------------------------------------------------------------


def test_record_from_example_acl_event() -> None:
    event = _event(
        "TAILNET.UPDATE.ACL",
        old='{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}',
        new='{"acls": [{"action": "accept", "src": ["group:eng"], "dst": ["*:*"]}]}',
    )
    event["target"] = {
        "id": "example.com",
        "name": "example.com",
        "type": "TAILNET",
        "property": "ACL",
    }
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert set(record) == {
        "cursor",
        "event_id",
        "tailnet",
        "event_time",
        "event_group_id",
        "source",
        "category",
        "event_type",
        "action",
        "severity",
        "findings",
        "actor",
        "target",
        "origin",
        "outcome",
        "error",
        "action_details",
        "summary",
        "old",
        "new",
        "policy_diff",
        "policy_changes",
    }
    assert record["cursor"] == f"{T('2025-03-04T09:12:44.318207Z')}|e1"
    assert record["event_id"] == "e1"
    assert record["tailnet"] == "example.com"
    assert record["event_time"] == T("2025-03-04T09:12:44.318207Z")
    assert record["event_type"] == "TAILNET.UPDATE.ACL"
    assert record["action"] == "acl:update"
    assert record["severity"] == "info", "narrowed from * to group:eng"
    assert record["policy_changes"]["no_longer_reachable"] == [
        "* \N{RIGHTWARDS ARROW} *:*, no longer reachable"
    ]
    assert record["origin"] == "ADMIN_CONSOLE"
    assert record["outcome"] == "success"
    assert record["summary"] == "alice@example.com updated the tailnet ACL policy"
    # Carried as JSON text, like configuration_audit: a string value stays quoted.
    assert json.loads(record["old"]) == event["old"]
    assert json.loads(record["new"]) == event["new"]
    assert '-        "*"' in record["policy_diff"]
    assert '+        "group:eng"' in record["policy_diff"]
    assert record["target"] == {
        "id": "example.com",
        "name": "example.com",
        "type": "TAILNET",
        "property": "ACL",
    }


def test_record_actor_fields_and_node_tags() -> None:
    event = _event("NODE.UPDATE.ACL_TAGS", old=["tag:ci"], new=["tag:ci", "tag:builder"])
    event["actor"] = {
        "id": "nP2",
        "type": "NODE",
        "displayName": "db-1",
        "loginName": "",
        "tags": ["tag:db"],
    }
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["actor"] == {
        "id": "nP2",
        "type": "NODE",
        "login_name": None,
        "display_name": "db-1",
        "tags": ["tag:db"],
    }
    assert record["policy_diff"] is None
    assert record["old"] == '["tag:ci"]'


def test_failure_outcome_and_error() -> None:
    event = _event("NODE.APPROVE", error="device limit reached")
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["outcome"] == "failure"
    assert record["error"] == "device limit reached"
    assert record["summary"] == (
        "alice@example.com failed to approve device web-1.tail1a2b3.ts.net: device limit reached"
    )
    event["error"] = ""
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["outcome"] == "success"
    assert record["error"] is None


def test_failed_request_target_is_a_failure() -> None:
    record = admin_audit_record(_event("FAILED_REQUEST.UPDATE"), policy=SeverityPolicy())
    assert record["outcome"] == "failure"
    assert record["summary"] == "alice@example.com failed to make a configuration change"


def test_event_time_is_normalized_to_fixed_width_utc() -> None:
    event = _event("NODE.APPROVE", eventTime="2025-03-04T10:12:44+01:00")
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["event_time"] == T("2025-03-04T09:12:44Z")
    assert record["cursor"] == f"{T('2025-03-04T09:12:44Z')}|e1"
    event["eventTime"] = "not a time"
    record = admin_audit_record(event, policy=SeverityPolicy())
    assert record["event_time"] is None
    assert record["cursor"] is None


# --- cursor --------------------------------------------------------------------


def test_make_cursor_is_the_tap_timestamp_form_and_the_id() -> None:
    # The cursor's time has the tap-wide fixed-width form (timeutil), whatever its width.
    assert make_cursor("2024-06-06T15:25:26.583893Z", "abc") == (
        f"{T('2024-06-06T15:25:26.583893Z')}|abc"
    )
    assert T("2024-06-06T15:25:26.583893Z").startswith("2024-06-06T15:25:26.583893")


def test_make_cursor_normalizes_other_rfc3339_shapes() -> None:
    assert make_cursor("2024-06-06T15:25:26Z", "a").startswith("2024-06-06T15:25:26.000000")
    assert make_cursor("2023-11-07T21:29:09.384145903Z", "a").startswith(
        "2023-11-07T21:29:09.384145"
    )
    assert make_cursor("2023-12-19T16:39:57-08:00", "a").startswith("2023-12-20T00:39:57.000000")
    widths = {
        len(make_cursor(v, "a")) for v in ("2024-06-06T15:25:26Z", "2023-12-19T16:39:57-08:00")
    }
    assert len(widths) == 1
    with pytest.raises(ValueError, match="RFC 3339"):
        make_cursor("yesterday", "a")


def test_cursors_sort_in_event_order_as_plain_strings() -> None:
    ordered = [
        ("2024-06-06T15:25:26.000001Z", "zz"),
        ("2024-06-06T15:25:26.100000Z", "aa"),
        ("2024-06-06T15:25:26.100000Z", "ab"),
        ("2024-06-06T15:25:27.000000Z", "00"),
        ("2025-01-01T00:00:00.000000Z", "00"),
    ]
    cursors = [make_cursor(t, i) for t, i in ordered]
    assert sorted(reversed(cursors)) == cursors
    assert len({len(c.split("|")[0]) for c in cursors}) == 1


# --- policy diff ---------------------------------------------------------------


def test_policy_diff_json() -> None:
    old = '{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}], "tagOwners": {}}'
    new = (
        '{\n"acls": [{"action": "accept", "src": ["group:eng"], "dst": ["*:*"]}],\n"tagOwners": {}}'
    )
    diff = policy_diff(old, new)
    assert diff is not None
    assert diff.startswith("--- old\n+++ new\n@@ ")
    assert diff.endswith("\n")
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ['-        "*"', '+        "group:eng"']


def test_policy_diff_keeps_each_documents_key_order() -> None:
    diff = policy_diff('{"b": 1, "a": 1}', '{"b": 1, "a": 2}')
    assert diff is not None
    body = diff.splitlines()[3:]
    assert body == [" {", '   "b": 1,', '-  "a": 1', '+  "a": 2', " }"]


def test_policy_diff_hujson_comments_and_trailing_commas() -> None:
    old = """// Example policy
{
  /* who may talk to whom */
  "acls": [
    {"action": "accept", "src": ["*"], "dst": ["*:*"],}, // everyone
  ],
  "derpMap": {"url": "http://x/y//z", "note": "a /* not a comment */ b",},
  "escaped": "quote \\" // still a string",
}
"""
    new = """{
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["*:*"]},
  ],
  "derpMap": {"url": "http://x/y//z", "note": "a /* not a comment */ b"},
  "escaped": "quote \\" // still a string", // trailing comment, with comma
}"""
    diff = policy_diff(old, new)
    assert diff is not None
    assert '"url": "http://x/y//z"' not in diff  # unchanged lines are context only
    changed = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ['-        "*"', '+        "group:eng"']
    assert " comment" not in "".join(changed)


def test_policy_diff_hujson_preserves_string_contents() -> None:
    old = '{"u": "http://x", "c": "/* keep */", "t": [1,],}'
    new = '{"u": "http://y", "c": "/* keep */", "t": [1,],}'
    diff = policy_diff(old, new)
    assert diff is not None
    assert '-  "u": "http://x",' in diff
    assert '+  "u": "http://y",' in diff
    assert '   "c": "/* keep */",' in diff


def test_policy_diff_identical_documents_is_empty_string() -> None:
    assert policy_diff('{"a": [1, 2]}', '{\n  // same\n  "a": [1, 2,],\n}') == ""
    assert policy_diff("same text", "same text") == ""


def test_policy_diff_none_when_a_side_is_missing() -> None:
    assert policy_diff(None, '{"a": 1}') is None
    assert policy_diff('{"a": 1}', None) is None
    assert policy_diff(None, None) is None


def test_policy_diff_falls_back_to_raw_text() -> None:
    old = "{ this is not json\nline two\n"
    new = '{"a": 1}'
    diff = policy_diff(old, new)
    assert diff is not None
    assert "-{ this is not json" in diff
    assert "-line two" in diff
    assert '+{"a": 1}' in diff


def test_policy_diff_unterminated_block_comment_falls_back() -> None:
    diff = policy_diff('{"a": 1 /* oops', '{"a": 1}')
    assert diff is not None
    assert '-{"a": 1 /* oops' in diff


def test_policy_diff_accepts_already_parsed_values() -> None:
    diff = policy_diff({"a": 1}, '{"a": 2}')
    assert diff is not None
    assert '-  "a": 1' in diff
    assert '+  "a": 2' in diff


def test_policy_diff_only_for_acl_property() -> None:
    event = _event("TAILNET.UPDATE.DNS_CONFIG", old='{"a": 1}', new='{"a": 2}')
    assert admin_audit_record(event, policy=SeverityPolicy())["policy_diff"] is None
    acl = _event("TAILNET.UPDATE.ACL", new='{"a": 2}')
    assert admin_audit_record(acl, policy=SeverityPolicy())["policy_diff"] is None


# --- summaries -----------------------------------------------------------------


def _with_actor(ev: str, actor: Mapping[str, object] | None, **extra: object) -> dict[str, object]:
    event = _event(ev, **extra)
    event["actor"] = actor
    return event


@pytest.mark.parametrize(
    ("actor", "expected_who"),
    [
        (
            {"id": "u1", "loginName": "alice@example.com", "displayName": "Alice"},
            "alice@example.com",
        ),
        ({"id": "u1", "loginName": "", "displayName": "terraform-ci"}, "terraform-ci"),
        ({"id": "u1"}, "u1"),
        ({}, "An automated process"),
        (None, "An automated process"),
    ],
)
def test_summary_actor_fallback(actor: dict[str, object] | None, expected_who: str) -> None:
    event = _with_actor("TAILNET.UPDATE.ACL", actor)
    assert summary_sentence(event, "acl:update") == f"{expected_who} updated the tailnet ACL policy"


def test_summary_examples() -> None:
    def summary(ev: str, **extra: object) -> str:
        return str(admin_audit_record(_event(ev, **extra), policy=SeverityPolicy())["summary"])

    assert summary("NODE.APPROVE") == "alice@example.com approved device web-1.tail1a2b3.ts.net"
    assert summary("TAILNET.DISABLE.MAGIC_DNS") == "alice@example.com disabled MagicDNS"
    assert summary("NODE.UPDATE.MACHINE_NAME", old="web-1", new="web-2") == (
        "alice@example.com renamed device web-1.tail1a2b3.ts.net from web-1 to web-2"
    )
    assert summary("NODE.UPDATE.ACL_TAGS", old=[], new=["tag:prod"]) == (
        "alice@example.com updated the tags of device web-1.tail1a2b3.ts.net from [] to [tag:prod]"
    )
    assert summary("ADMIN_CONSOLE.LOGIN") == "alice@example.com logged in to the admin console"
    assert summary("INVITE.RESEND.TAILNET_INVITE") == (
        "alice@example.com resent tailnet invite web-1.tail1a2b3.ts.net"
    )
    assert summary("TAILNET.LEAVE") == "alice@example.com left tailnet web-1.tail1a2b3.ts.net"
    assert summary("TAILNET.VERIFY.SECURITY_EMAIL") == (
        "alice@example.com verified the tailnet security contact"
    )


def test_summary_never_quotes_webhook_secrets() -> None:
    event = _event("WEBHOOK_ENDPOINT.UPDATE.SECRET", old="s3cret-old", new="s3cret-new")
    text = summary_sentence(event, "webhook:update")
    assert "s3cret" not in text
    assert text == "alice@example.com rotated the secret of webhook web-1.tail1a2b3.ts.net"


def test_summary_api_key_uses_id_not_generic_name() -> None:
    event = _event("API_KEY.CREATE")
    event["target"] = {"id": "kWz81QpCNTRL", "name": "API key", "type": "API_KEY"}
    assert summary_sentence(event, "auth_key:create") == (
        "alice@example.com created API key kWz81QpCNTRL"
    )


def test_summary_passive_for_system_expiry_active_for_users() -> None:
    node_actor = {"id": "nP2", "type": "NODE", "displayName": "db-replica-1"}
    event = _with_actor("NODE.EXPIRED.KEY_EXPIRY_TIME", node_actor, old="2025-03-04T10:02:00Z")
    assert summary_sentence(event, "node_key:expire") == (
        "The node key of device web-1.tail1a2b3.ts.net expired"
    )
    user_actor = {"id": "u1", "type": "USER", "loginName": "alice@example.com"}
    event = _with_actor("NODE.EXPIRED.KEY_EXPIRY_TIME", user_actor)
    assert summary_sentence(event, "node_key:expire") == (
        "alice@example.com expired the node key of device web-1.tail1a2b3.ts.net"
    )
    event = _with_actor("API_KEY.EXPIRED", None)
    event["target"] = {"id": "k1", "name": "API key", "type": "API_KEY"}
    assert summary_sentence(event, "auth_key:expire") == "API key k1 expired"


def test_summary_for_unknown_events() -> None:
    event = _event("SPACESHIP.ENGAGE.WARP")
    assert summary_sentence(event, "spaceship:engage") == (
        "alice@example.com performed SPACESHIP.ENGAGE.WARP on spaceship web-1.tail1a2b3.ts.net"
    )
    assert (
        summary_sentence({}, "unknown:unknown") == "An automated process performed UNKNOWN.UNKNOWN"
    )
    event = _event("TAILNET.ENABLE.NEW_TOGGLE")
    assert summary_sentence(event, "settings:update") == (
        "alice@example.com enabled the tailnet setting new toggle"
    )


def test_example_configuration_fixture_shapes() -> None:
    """The five example events of the reference fixture, embedded here."""
    events = json.loads(
        """[
        {"eventTime": "2025-03-04T10:02:51.004871Z", "origin": "CONTROL",
         "actor": {"id": "nP2v6HkCNTRL", "type": "NODE", "displayName": "db-replica-1",
                   "tags": ["tag:db"]},
         "target": {"id": "nP2v6HkCNTRL", "name": "db-replica-1.tail1a2b3.ts.net",
                    "type": "NODE", "isEphemeral": false, "property": "KEY_EXPIRY_TIME"},
         "action": "EXPIRED", "old": "2025-03-04T10:02:00Z", "new": null},
        {"eventTime": "2025-03-04T12:00:07.731466Z", "origin": "CONFIG_API",
         "actor": {"id": "uB4n7TsCNTRL", "type": "USER", "loginName": "lee@example.com",
                   "displayName": "Lee Park"},
         "target": {"id": "uC9m2RdCNTRL", "name": "sam@example.com", "type": "USER",
                    "property": "USER_ROLE"},
         "action": "UPDATE", "old": "member", "new": "owner",
         "error": "only the tailnet owner can transfer ownership"}
    ]"""
    )
    policy = SeverityPolicy()
    expiry, role = (
        admin_audit_record({**e, "tailnet": "example.com", "event_id": f"id{n}"}, policy=policy)
        for n, e in enumerate(events)
    )
    assert (expiry["action"], expiry["severity"], expiry["outcome"]) == (
        "node_key:expire",
        "info",
        "success",
    )
    assert expiry["actor"]["tags"] == ["tag:db"]
    assert (role["action"], role["severity"], role["outcome"]) == (
        "tailnet:transfer_ownership",
        "high",
        "failure",
    )
    assert role["summary"] == (
        "lee@example.com failed to transfer ownership of the tailnet to sam@example.com: "
        "only the tailnet owner can transfer ownership"
    )
