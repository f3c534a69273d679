"""Posture snapshots: tailnet settings, log streaming, webhooks, posture integrations,
user invites, Services and contacts, per tailnet, each a full table.

Built on the inventory streams: each declares its scope (tap_tailscale.scopes), with
`hidden` where the live API answers a missing scope with 404 `not found` (webhooks,
contacts, posture integrations, Services, log streaming), and a missing scope skips the
stream with one warning. For log streaming a 404 also means "not configured": that is a
row saying so, and one warning naming the scope as the other possible cause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from typing_extensions import override

from tap_tailscale.client import Snapshot
from tap_tailscale.errors import (
    ApiRequestError,
    BodyError,
    HiddenEndpointError,
    RejectedEntryError,
    RetriableError,
    SkipPartitionError,
    TailscaleUserError,
)
from tap_tailscale.inventory import posture_records as shapes
from tap_tailscale.scopes import ScopeNeed
from tap_tailscale.streams.inventory import InventoryStream
from tap_tailscale.streams.inventory_fetch import not_found_verdict

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_tailscale.streams.context import RunContext

LOG_TYPES = ("configuration", "network")
# What one request may fail with, short of a rejected credential.
_FAILURES = (HiddenEndpointError, SkipPartitionError, TailscaleUserError, RetriableError, BodyError)


class PostureStream(InventoryStream):
    """A posture endpoint; a snapshot is taken once per run and tailnet, and shared with
    `posture_findings`."""

    def __init__(self, tap: Any, run: RunContext) -> None:
        super().__init__(tap, run)
        self._snapshots: dict[str, list[dict[str, Any]] | Exception] = {}

    def read(self, tailnet: str) -> list[dict[str, Any]]:
        """The records of one snapshot (shaped, without the tailnet's name)."""
        raise NotImplementedError

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        if tailnet not in self._snapshots:
            try:
                self._snapshots[tailnet] = self.read(tailnet)
            except _FAILURES as exc:
                self._snapshots[tailnet] = exc
        found = self._snapshots[tailnet]
        if isinstance(found, Exception):
            raise found
        return [dict(record) for record in found]

    def endpoint(self, tailnet: str, path: str) -> Snapshot:
        """GET `tailnet/{tailnet}/{path}` under this stream's name and scope."""
        return self.get(f"tailnet/{tailnet}/{path}")


class _PostureListStream(PostureStream):
    """An endpoint whose body is `{"<envelope>": [objects]}` (or a bare array)."""

    path: ClassVar[str]
    envelope: ClassVar[str | None]
    shape: ClassVar[Any]

    @override
    def read(self, tailnet: str) -> list[dict[str, Any]]:
        answer = self.endpoint(tailnet, self.path)
        body = answer.json()
        objects = body.get(self.envelope) if isinstance(body, dict) and self.envelope else body
        return list(self.shaped(objects, type(self).shape, tailnet, answer.taken_at))


class WebhooksStream(_PostureListStream):
    """Webhook endpoints and their subscriptions; never the signing secret."""

    name = "webhooks"
    scope = ScopeNeed(("webhooks:read",), hidden=True)
    path = "webhooks"
    envelope = "webhooks"
    shape = staticmethod(shapes.webhook_record)


class PostureIntegrationsStream(_PostureListStream):
    """Device posture integrations and their sync status; never the client secret."""

    name = "posture_integrations"
    scope = ScopeNeed(("feature_settings:read",), hidden=True)
    path = "posture/integrations"
    envelope = "integrations"
    shape = staticmethod(shapes.integration_record)


class UserInvitesStream(_PostureListStream):
    """Open user invites (a bare array); each invite link loses its code."""

    name = "user_invites"
    # Not stated in the spec; the live API answers 403 without it.
    scope = ScopeNeed(("users:read",))
    path = "user-invites"
    envelope = None
    shape = staticmethod(shapes.invite_record)


class TailnetSettingsStream(PostureStream):
    """The tailnet's settings: one row per distinct version."""

    name = "tailnet_settings"
    # Without it the answer is 200 with the fields other scopes govern: see `missing`.
    scope = ScopeNeed(("feature_settings:read",))

    @override
    def read(self, tailnet: str) -> list[dict[str, Any]]:
        answer = self.endpoint(tailnet, "settings")
        try:
            record, missing = shapes.settings_record(answer.json(), tailnet, answer.taken_at)
        except RejectedEntryError as exc:
            raise BodyError(f"tailnet_settings: {exc.reason}") from None
        if missing:
            self.logger.warning(
                "%s [tailnet %s]: the answer left out the settings that need %s; grant "
                "them (or `all:read`) to fill those columns.",
                self.name,
                tailnet,
                ", ".join(f"`{scope}`" for scope in missing),
            )
        return [record]


class ContactsStream(PostureStream):
    """The account, support and security contacts: one row per contact type."""

    name = "contacts"
    scope = ScopeNeed(("account_settings:read",), hidden=True)

    @override
    def read(self, tailnet: str) -> list[dict[str, Any]]:
        answer = self.endpoint(tailnet, "contacts")
        try:
            return shapes.contact_records(answer.json(), tailnet, answer.taken_at)
        except RejectedEntryError as exc:
            raise BodyError(f"contacts: {exc.reason}") from None


class LogStreamingStream(PostureStream):
    """Log streaming per log type: its endpoint (no credentials) and publishing status."""

    name = "log_streaming"
    scope = ScopeNeed(("log_streaming:read",), hidden=True)

    @override
    def read(self, tailnet: str) -> list[dict[str, Any]]:
        answers = {log_type: self._log_type(tailnet, log_type) for log_type in LOG_TYPES}
        # A 404 has no body to date the snapshot: it shares the time of an answer that
        # had one (so a replayed run is the same), else the time now.
        times = [answer.taken_at for answer, *_ in answers.values() if answer is not None]
        synced_at = times[0] if times else Snapshot(b"", {}).taken_at
        if not times:
            self._none_configured(tailnet)
        return [
            shapes.log_stream_record(
                log_type,
                answer.json() if answer is not None else None,
                status,
                status_error,
                tailnet,
                synced_at,
            )
            for log_type, (answer, status, status_error) in answers.items()
        ]

    def _none_configured(self, tailnet: str) -> None:
        """Every log type answered 404: an unknown tailnet is an error; else one warning."""
        missing = HiddenEndpointError(self.name, self.scope, "not found")
        verdict = not_found_verdict(self.run, tailnet, missing)
        if isinstance(verdict, ApiRequestError):
            raise verdict
        self.logger.warning(
            "%s [tailnet %s]: the API answered 404 for every log type: log streaming is not "
            "configured, or the credential lacks %s (the API answers both alike); rows say "
            "configured = false.",
            self.name,
            tailnet,
            self.scope.label,
        )

    def _log_type(self, tailnet: str, log_type: str) -> tuple[Snapshot | None, Any, str | None]:
        """The configuration answer (None: 404), the status body, and why it is missing."""
        path = f"logging/{log_type}/stream"
        try:
            answer = self.endpoint(tailnet, path)
        except HiddenEndpointError:
            return None, None, None
        try:
            return answer, self.endpoint(tailnet, f"{path}/status").json(), None
        except _FAILURES as exc:
            return answer, None, str(exc)


class ServicesStream(PostureStream):
    """Services (VIP run) with the devices hosting each."""

    name = "services"
    scope = ScopeNeed(("services:read",), hidden=True)

    @override
    def read(self, tailnet: str) -> list[dict[str, Any]]:
        answer = self.endpoint(tailnet, "services")
        body = answer.json()
        objects = body.get("vipServices") if isinstance(body, dict) else None
        records = []
        failed = 0
        for service in objects if isinstance(objects, list) else []:
            hosts, error = self._hosts(tailnet, service)
            failed += error is not None
            try:
                records.append(
                    shapes.service_record(service, hosts, error, tailnet, answer.taken_at)
                )
            except RejectedEntryError as exc:
                self.run.report.entry_rejected(self.name)
                self.logger.warning("%s [tailnet %s]: skipped: %s", self.name, tailnet, exc.reason)
        if failed:
            self.logger.warning(
                "%s [tailnet %s]: the hosts of %d Service(s) could not be read (see "
                "hosts_error); the spec names scopes `services` and `devices:core` for them.",
                self.name,
                tailnet,
                failed,
            )
        return records

    def _hosts(self, tailnet: str, service: Any) -> tuple[Any, str | None]:
        name = service.get("name") if isinstance(service, dict) else None
        if not isinstance(name, str) or not name:
            return None, None
        try:
            found = self.endpoint(tailnet, f"services/{quote(name, safe=':')}/devices")
            return found.json(), None
        except _FAILURES as exc:
            return None, str(exc)


POSTURE_STREAMS: tuple[type[PostureStream], ...] = (
    TailnetSettingsStream,
    LogStreamingStream,
    WebhooksStream,
    PostureIntegrationsStream,
    UserInvitesStream,
    ServicesStream,
    ContactsStream,
)
