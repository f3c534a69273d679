"""The three streams: configuration_audit, network_flow and admin_audit."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from itertools import groupby
from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_tailscale import schemas
from tap_tailscale.admin_audit import SeverityPolicy, admin_audit_record, make_cursor
from tap_tailscale.client import SkipPartitionError, TailscaleLogStream
from tap_tailscale.errors import ConfigError, FlowLogsUnavailableError
from tap_tailscale.records import configuration_record, network_record
from tap_tailscale.timeutil import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from singer_sdk.helpers.types import Context

    from tap_tailscale.windows import Window

_CURSOR_TIME_WIDTH = len("2024-01-01T00:00:00.000000Z")
# Sorts after every event id (lower-case hex), so a frontier cursor at instant T covers
# every event before T whatever its id.
_AFTER_EVERY_ID = "~"


class _ConfigurationLogStream(TailscaleLogStream):
    """Streams read from the configuration audit log, with its server-side filters."""

    log_kind = "configuration"
    retention = timedelta(days=90)
    window_setting = "configuration_window_seconds"
    required_scope = "logs:configuration:read"

    @property
    @override
    def default_window(self) -> float:
        return 86400.0

    @override
    def get_url_params(self, context: Context | None, next_page_token: Window | None) -> dict:
        params = super().get_url_params(context, next_page_token)
        # Lists become repeated parameters (event=A&event=B), as the API expects.
        for name in ("actor", "target", "event"):
            values = self.config.get(name)
            if values:
                params[name] = list(values)
        return params


class ConfigurationAuditStream(_ConfigurationLogStream):
    """Tailscale's configuration audit log: who changed what in the tailnet."""

    name = "configuration_audit"
    primary_keys: ClassVar[list[str]] = ["event_id"]
    replication_key = "eventTime"
    schema = schemas.CONFIGURATION_AUDIT

    @override
    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        return configuration_record(entry, tailnet)


class NetworkFlowStream(TailscaleLogStream):
    """Network flow logs: which nodes talked, and how much (Premium and Enterprise plans)."""

    name = "network_flow"
    primary_keys: ClassVar[list[str]] = ["flow_id"]
    # The API filters on `logged` (when Tailscale received the record), so it is the
    # only field that places a record in exactly one window.
    replication_key = "logged"
    schema = schemas.NETWORK_FLOW
    log_kind = "network"
    retention = timedelta(days=30)
    window_setting = "network_window_seconds"
    required_scope = "logs:network:read"

    @override
    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        return network_record(entry, tailnet)

    @override
    def on_forbidden(self, message: str) -> None:
        # A 403 here usually means the plan lacks flow logs or they are switched off; that
        # should not stop the audit streams, so it becomes a warning and a skip.
        lowered = message.lower()
        if "scope" in lowered or "permission" in lowered:
            raise SkipPartitionError(
                f"The credential lacks the `{self.required_scope}` scope (HTTP 403: "
                f"{message}); grant it to read network flow logs."
            )
        raise SkipPartitionError(
            str(
                FlowLogsUnavailableError(
                    f"Network flow logs are not available (HTTP 403: {message}). They need "
                    "the Premium or Enterprise plan and must be switched on under Logs in "
                    "the admin console."
                )
            )
        )


class AdminAuditStream(_ConfigurationLogStream):
    """Administrative actions, normalized and severity-scored, read exactly once.

    Built from the configuration audit log (Tailscale has no separate admin audit
    endpoint). The bookmark is a cursor, fixed-width event time joined to event_id, and
    each run emits only events strictly after it, so re-read overlaps emit nothing twice.
    """

    name = "admin_audit"
    primary_keys: ClassVar[list[str]] = ["event_id"]
    replication_key = "cursor"
    schema = schemas.ADMIN_AUDIT

    _last_cursor: str | None = None

    @cached_property
    def severity_policy(self) -> SeverityPolicy:
        """Severity mapping with the user's overrides, validated once per run."""
        try:
            return SeverityPolicy(self.config.get("severity_overrides") or {})
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @override
    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        return admin_audit_record(configuration_record(entry, tailnet), policy=self.severity_policy)

    @override
    def bookmark_time(self, value: str) -> datetime:
        return parse_timestamp(value[:_CURSOR_TIME_WIDTH])

    @override
    def bookmark_after(self, window: Window) -> str:
        # Everything strictly before the window's end has been read, whether or not the
        # API's end bound is inclusive. Events at exactly the end keep their own cursors.
        frontier = make_cursor(
            format_timestamp(window.end - timedelta(microseconds=1)), _AFTER_EVERY_ID
        )
        if self._last_cursor is not None and self._last_cursor > frontier:
            return self._last_cursor
        return frontier

    @override
    def request_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        self._last_cursor = self.starting_bookmark(context)
        yield from super().request_records(context)

    @override
    def order_window(self, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        # The API orders events by time, but events sharing a timestamp come in no
        # defined order; sorting each such group by cursor makes "strictly after the
        # cursor" a safe test, also when a broken window is read again.
        for _, group in groupby(records, key=lambda record: record["event_time"]):
            for record in sorted(group, key=lambda record: record["cursor"]):
                if self._last_cursor is None or record["cursor"] > self._last_cursor:
                    self._last_cursor = record["cursor"]
                    yield record
