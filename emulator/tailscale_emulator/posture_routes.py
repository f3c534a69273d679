"""The posture endpoints: settings, log streaming, webhooks, posture integrations, user
invites, Services and contacts, with the live API's missing-scope answers.

A missing scope is not always a 403 on the live API: webhooks, contacts, posture
integrations, Services and log streaming answer 404 `{"message":"not found"}`, user
invites a 403. The settings answer leaves out the fields whose scope is missing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tailscale_emulator import posture_data
from tailscale_emulator.access import Reject, allowed_scopes, missing_scope
from tailscale_emulator.base import HandlerBase
from tailscale_emulator.timefmt import to_ns

if TYPE_CHECKING:
    from collections.abc import Callable

    from tailscale_emulator.access import Grant, RequestLogEntry

POSTURE_PATH = re.compile(
    r"/api/v2/tailnet/([^/]+)/"
    r"(settings|webhooks|posture/integrations|user-invites|services|contacts"
    r"|logging/(?:configuration|network)/stream(?:/status)?"
    r"|services/[^/]+/devices)/?"
)
SCOPES = {
    "settings": "feature_settings:read",
    "log_streaming": "log_streaming:read",
    "webhooks": "webhooks:read",
    "posture/integrations": "feature_settings:read",
    "user-invites": "users:read",
    "services": "services:read",
    "contacts": "account_settings:read",
}
# Settings fields governed by a scope other than `feature_settings:read`.
SETTINGS_SCOPES = {
    "networkFlowLoggingOn": "logs:network:read",
    "httpsEnabled": "networking_settings:read",
    "aclsExternallyManagedOn": "policy_file:read",
    "aclsExternalLink": "policy_file:read",
}
_ANSWERS_403 = frozenset({"user-invites"})


class PostureMixin(HandlerBase):
    """GET routes of the posture objects; each a full snapshot."""

    def _may(self, grant: Grant, scope: str) -> bool:
        return bool(allowed_scopes(grant, (scope,), self.emulator.config.denied()))

    def _serve_posture(self, entry: RequestLogEntry, tailnet_segment: str, resource: str) -> None:
        grant, tailnet = self._grant(entry, tailnet_segment)
        kind = "log_streaming" if resource.startswith("logging/") else resource
        if resource.startswith("services/"):
            self._serve_service_hosts(entry, grant, tailnet, resource)
            return
        scope = SCOPES[kind]
        if kind == "settings":
            self._send_json(entry, 200, self._settings(grant, tailnet))
            return
        if not self._may(grant, scope):
            raise missing_scope(hidden=kind not in _ANSWERS_403)
        payload = self._posture_body(tailnet, resource)
        if payload is None:
            raise Reject(404, "not found")
        self._send_json(entry, 200, payload)

    def _settings(self, grant: Grant, tailnet: str) -> dict[str, Any]:
        found = posture_data.settings(self.emulator.config.tailnets[tailnet])
        return {
            name: value
            for name, value in found.items()
            if self._may(grant, SETTINGS_SCOPES.get(name, "feature_settings:read"))
        }

    def _posture_body(self, tailnet: str, resource: str) -> Any:
        config = self.emulator.config
        now, plant = to_ns(config.dataset_end), config.plant_secrets
        if resource.startswith("logging/"):
            log_type = resource.split("/")[1]
            if resource.endswith("/status"):
                return posture_data.log_stream_status(log_type, now)
            return posture_data.log_stream(tailnet, log_type, plant=plant)
        bodies: dict[str, Callable[[], Any]] = {
            "webhooks": lambda: posture_data.webhooks(tailnet, now, plant=plant),
            "posture/integrations": lambda: posture_data.posture_integrations(
                tailnet, now, plant=plant
            ),
            "user-invites": lambda: posture_data.user_invites(tailnet, now),
            "services": lambda: posture_data.services(tailnet),
            "contacts": lambda: posture_data.contacts(tailnet),
        }
        return bodies[resource]()

    def _serve_service_hosts(
        self, entry: RequestLogEntry, grant: Grant, tailnet: str, resource: str
    ) -> None:
        # The spec names `services` and `devices:core` for this GET.
        for scope in ("services:read", "devices:core:read"):
            if not self._may(grant, scope):
                raise missing_scope()
        name = resource.split("/")[1]
        node_ids = [d["nodeId"] for d in self.emulator.dataset.devices(tailnet, "default")]
        hosts = posture_data.service_hosts(name, node_ids)
        if hosts is None:
            raise Reject(404, "Service not found")
        self._send_json(entry, 200, hosts)
