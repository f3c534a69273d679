"""Posture records: secrets never kept, invite links cut, settings scopes told apart."""

from __future__ import annotations

import json

import pytest

from tap_tailscale.errors import REDACTED, RejectedEntryError
from tap_tailscale.inventory.posture_records import (
    contact_records,
    log_stream_record,
    settings_record,
    webhook_record,
)
from tap_tailscale.secret_fields import redact_invite_url, scrub_document

AT = "2026-03-01T00:00:00Z"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://login.tailscale.com/uinv/AbC123", f"https://login.tailscale.com/uinv/{REDACTED}"),
        ("https://login.tailscale.com/admin/invite/x/", f"https://login.tailscale.com/admin/invite/{REDACTED}"),
        ("AbC123", REDACTED),
        ("https://example.com", REDACTED),
        ("", ""),
        (None, None),
    ],
)  # fmt: skip
def test_invite_links_lose_their_code(url: str | None, redacted: str | None) -> None:
    assert redact_invite_url(url) == redacted


def test_scrub_document_redacts_secret_fields_at_any_depth() -> None:
    body = {
        "webhooks": [{"endpointId": "1", "secret": "s3cr3t", "nested": {"token": "tok"}}],
        "inviteUrl": "https://login.tailscale.com/uinv/code",
        "key": "",
    }
    cleaned, changed = scrub_document(body)
    text = json.dumps(cleaned)
    assert changed
    assert "s3cr3t" not in text
    assert '"tok"' not in text
    assert "code" not in text
    assert cleaned["key"] == ""  # nothing to hide
    assert scrub_document({"endpointId": "1"}) == ({"endpointId": "1"}, False)


def test_unknown_fields_keep_no_secret() -> None:
    hook = {"endpointId": "1", "secret": "s", "future": {"clientSecret": "c", "ok": 1}}
    record = webhook_record(hook, "t", AT)
    assert "secret" not in record
    assert json.loads(record["extra_fields"]) == {"future": {"ok": 1}}


def test_settings_scope_is_missing_only_when_all_its_fields_are() -> None:
    full = {"devicesApprovalOn": True, "networkFlowLoggingOn": True, "httpsEnabled": True}
    _, missing = settings_record({**full, "aclsExternallyManagedOn": False}, "t", AT)
    assert missing == []
    _, missing = settings_record(full, "t", AT)
    assert missing == ["policy_file:read"]
    _, missing = settings_record({}, "t", AT)
    assert missing == [
        "feature_settings:read",
        "logs:network:read",
        "networking_settings:read",
        "policy_file:read",
    ]
    with pytest.raises(RejectedEntryError):
        settings_record([], "t", AT)


def test_settings_versions_follow_the_content() -> None:
    one, _ = settings_record({"devicesApprovalOn": True}, "t", AT)
    same, _ = settings_record({"devicesApprovalOn": True}, "t", "2026-03-02T00:00:00Z")
    other, _ = settings_record({"devicesApprovalOn": False}, "t", AT)
    assert one["settings_version"] == same["settings_version"] != other["settings_version"]


def test_a_log_stream_record_drops_credentials() -> None:
    configuration = {
        "logType": "network",
        "destinationType": "s3",
        "s3AccessKeyId": "AKIA",
        "s3SecretAccessKey": "shh",
        "gcsCredentials": "{}",
        "token": "t0k",
    }
    record = log_stream_record("network", configuration, None, "why", "t", AT)
    text = json.dumps(record)
    assert "shh" not in text
    assert "t0k" not in text
    assert record["s3AccessKeyId"] == "AKIA"
    assert record["extra_fields"] is None
    assert (record["configured"], record["status_error"]) == (True, "why")
    absent = log_stream_record("network", None, None, None, "t", AT)
    assert absent["configured"] is False


def test_contacts_become_one_row_per_type() -> None:
    rows = contact_records(
        {"account": {"email": "a@x"}, "security": {"email": "s@x", "needsVerification": True}},
        "t",
        AT,
    )
    assert [(r["contactType"], r["email"]) for r in rows] == [
        ("account", "a@x"),
        ("security", "s@x"),
    ]
    with pytest.raises(RejectedEntryError):
        contact_records(None, "t", AT)
