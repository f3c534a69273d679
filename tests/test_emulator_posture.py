"""The emulator's posture endpoints: the live API's shapes and missing-scope answers."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tailscale_emulator import Emulator
from tests.emulator_support import AUTH, emu, http, make_config

__all__ = ["emu", "http"]


def _get(http: requests.Session, emulator: Emulator, path: str) -> requests.Response:
    return http.get(f"{emulator.url}/api/v2/tailnet/-/{path}", auth=AUTH, timeout=10)


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("settings", dict),
        ("logging/configuration/stream", dict),
        ("logging/configuration/stream/status", dict),
        ("webhooks", "webhooks"),
        ("posture/integrations", "integrations"),
        ("user-invites", list),
        ("services", "vipServices"),
        ("services/svc:grafana/devices", "hosts"),
        ("contacts", "account"),
    ],
)
def test_each_endpoint_answers_the_api_shape(
    emu: Emulator, http: requests.Session, path: str, shape: Any
) -> None:
    answer = _get(http, emu, path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if isinstance(shape, str):
        assert shape in body
    else:
        assert isinstance(body, shape)
        assert body


def test_no_secret_field_is_sent_by_default(emu: Emulator, http: requests.Session) -> None:
    text = "".join(
        _get(http, emu, p).text
        for p in ("logging/configuration/stream", "webhooks", "posture/integrations")
    )
    for field in ('"token"', '"secret"', '"clientSecret"', "s3SecretAccessKey"):
        assert field not in text


def test_an_unstreamed_log_type_is_404(emu: Emulator, http: requests.Session) -> None:
    for path in ("logging/network/stream", "logging/network/stream/status"):
        answer = _get(http, emu, path)
        assert (answer.status_code, answer.json()) == (404, {"message": "not found"})
    assert _get(http, emu, "services/svc:nope/devices").status_code == 404


@pytest.mark.parametrize(
    ("scope", "path", "status"),
    [
        ("webhooks:read", "webhooks", 404),
        ("account_settings:read", "contacts", 404),
        ("feature_settings:read", "posture/integrations", 404),
        ("services:read", "services", 404),
        ("log_streaming:read", "logging/configuration/stream", 404),
        ("log_streaming:read", "logging/configuration/stream/status", 404),
        ("users:read", "user-invites", 403),
        ("devices:core:read", "services/svc:grafana/devices", 403),
    ],
)
def test_a_missing_scope_answers_as_the_live_api(
    http: requests.Session, scope: str, path: str, status: int
) -> None:
    with Emulator(make_config(denied_scopes=(scope,))) as emulator:
        answer = _get(http, emulator, path)
    assert answer.status_code == status
    if status == 404:
        assert answer.json() == {"message": "not found"}
    else:
        assert answer.json()["message"].startswith("calling actor does not have enough")


def test_settings_leave_out_what_a_missing_scope_hides(http: requests.Session) -> None:
    with Emulator(make_config(denied_scopes=("logs:network:read",))) as emulator:
        partial = _get(http, emulator, "settings").json()
    with Emulator(make_config(denied_scopes=("feature_settings:read",))) as emulator:
        bare = _get(http, emulator, "settings").json()
    assert "networkFlowLoggingOn" not in partial
    assert "devicesApprovalOn" in partial
    assert set(bare) == {"networkFlowLoggingOn", "httpsEnabled", "aclsExternallyManagedOn",
                         "aclsExternalLink"}  # fmt: skip
