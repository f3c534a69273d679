"""What the posture tests share: the streams, and an API object as its record holds it."""

from __future__ import annotations

from typing import Any

from tap_tailscale.inventory.shaping import canonical_text
from tap_tailscale.secret_fields import SECRET_FIELDS, redact_invite_url
from tap_tailscale.timeutil import normalize_optional_timestamp

TAILNET = "example.com"
POSTURE = (
    "tailnet_settings",
    "log_streaming",
    "webhooks",
    "posture_integrations",
    "user_invites",
    "services",
    "contacts",
)
_TIMES = frozenset(
    ("created", "lastModified", "configUpdated", "lastEmailSentAt", "lastSync", "lastActivity")
)


def expected_object(obj: dict[str, Any]) -> dict[str, Any]:
    """An API object as its record holds it: times normalized, free-form maps as JSON
    text, secrets dropped and invite links cut."""
    out: dict[str, Any] = {}
    for name, value in obj.items():
        if name in SECRET_FIELDS:
            continue
        if name in _TIMES:
            out[name] = normalize_optional_timestamp(value)
        elif name == "inviteUrl":
            out[name] = redact_invite_url(value)
        elif name == "annotations":
            out[name] = canonical_text(value)
        elif isinstance(value, dict):
            out[name] = expected_object(value)
        else:
            out[name] = value
    return out


def matches(records: list[dict[str, Any]], objects: list[dict[str, Any]], key: str) -> None:
    by_key = {r[key]: r for r in records}
    assert set(by_key) == {o[key] for o in objects}
    for obj in objects:
        record = by_key[obj[key]]
        want = expected_object(obj)
        assert {k: record[k] for k in want} == want, (key, obj[key])
        assert record.get("extra_fields") is None
        assert record["tailnet"] == TAILNET


def emulator_objects(emulator: Any) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """The emulator's objects of each list-like posture stream, and the stream's key."""
    from tailscale_emulator import posture_data  # noqa: PLC0415 - the emulator's own package
    from tailscale_emulator.timefmt import to_ns  # noqa: PLC0415

    now = to_ns(emulator.config.dataset_end)
    contacts = posture_data.contacts(TAILNET)
    return {
        "webhooks": (posture_data.webhooks(TAILNET, now, plant=False)["webhooks"], "endpointId"),
        "posture_integrations": (
            posture_data.posture_integrations(TAILNET, now, plant=False)["integrations"],
            "id",
        ),
        "user_invites": (posture_data.user_invites(TAILNET, now), "id"),
        "services": (posture_data.services(TAILNET)["vipServices"], "name"),
        "contacts": ([{"contactType": k, **v} for k, v in contacts.items()], "contactType"),
    }
