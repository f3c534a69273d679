"""The three streams: configuration_audit, network_flow and admin_audit."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_tailscale.admin_audit import SeverityPolicy, admin_audit_record, make_cursor
from tap_tailscale.errors import ConfigError, FlowLogsUnavailableError, SkipPartitionError
from tap_tailscale.logs import configuration_record, decode_flow_block, network_record, schemas
from tap_tailscale.streams.log_stream import TailscaleLogStream
from tap_tailscale.streams.reach_snapshot import reach_snapshot
from tap_tailscale.timeutil import parse_timestamp

if TYPE_CHECKING:
    from datetime import datetime

    from singer_sdk.helpers.types import Context

    from tap_tailscale.logs import BlockDecoder, Window, WindowOrder

# Sorts after every event id (lower-case hex), so a frontier cursor at instant T covers
# every event before T whatever its id.
_AFTER_EVERY_ID = "~"


class _ConfigurationLogStream(TailscaleLogStream):
    """Streams read from the configuration audit log, with its server-side filters."""

    log_kind = "configuration"
    retention = timedelta(days=90)
    required_scope = "logs:configuration:read"

    @property
    @override
    def window_size(self) -> timedelta:
        return self.run.settings.configuration_window

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: Window | None
    ) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        # Lists become repeated parameters (event=A&event=B), as the API expects.
        params.update(self.run.settings.configuration_filters)
        return params


class ConfigurationAuditStream(_ConfigurationLogStream):
    """Tailscale's configuration audit log: who changed what in the tailnet."""

    name = "configuration_audit"
    primary_keys: ClassVar[list[str]] = ["event_id"]
    replication_key = "eventTime"
    time_field = "eventTime"
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
    time_field = "logged"
    schema = schemas.NETWORK_FLOW
    log_kind = "network"
    retention = timedelta(days=30)
    required_scope = "logs:network:read"

    @property
    @override
    def window_size(self) -> timedelta:
        return self.run.settings.network_window

    #: Whether this stream's records may carry the traffic arrays as the API's JSON text.
    keeps_traffic_as_text: ClassVar[bool] = True

    @override
    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        return network_record(entry, tailnet)

    @override
    def block_decoder(self, companions: list[TailscaleLogStream]) -> BlockDecoder | None:
        # Text (msgspec.Raw) is written into the RECORD line as sent, but only the tap's
        # own writer can do that, and a companion shapes the same entries as dicts.
        if self.keeps_traffic_as_text and not companions and self.writes_records_itself:
            return decode_flow_block
        return None

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
    time_field = "event_time"
    schema = schemas.ADMIN_AUDIT

    #: The cursor as of the last completed window (or the run's starting bookmark).
    _last_cursor: str | None = None
    #: Cursors the window being read has emitted (across its attempts).
    _window_cursors: set[str]
    #: The configured tailnet of the entry being shaped (`-` stays `-`).
    _api_tailnet = "-"

    @cached_property
    def severity_policy(self) -> SeverityPolicy:
        """Severity mapping with the user's overrides, validated once per run."""
        try:
            return SeverityPolicy(dict(self.run.settings.severity_overrides))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @override
    def shape_entry(self, entry: Any, tailnet: str, window: Window) -> list[dict[str, Any]]:
        self._api_tailnet = tailnet  # the configured name, which the inventory API is asked by
        return super().shape_entry(entry, tailnet, window)

    @override
    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        return admin_audit_record(
            configuration_record(entry, tailnet),
            policy=self.severity_policy,
            values=entry,
            reach=partial(reach_snapshot, self.run, self._api_tailnet),
        )

    @override
    def bookmark_time(self, value: str) -> datetime:
        return parse_timestamp(value.partition("|")[0])

    @override
    def bookmark_after(self, window: Window) -> str:
        # Everything strictly before the window's end has been read, whether or not the
        # API's end bound is inclusive. Events at exactly the end keep their own cursors.
        # The window is complete: its events join the cursor.
        last_second = (window.end - timedelta(seconds=1)).replace(tzinfo=None)
        frontier = make_cursor(
            last_second.isoformat(timespec="seconds") + ".999999999Z", _AFTER_EVERY_ID
        )
        self._last_cursor = max({frontier, self._last_cursor or frontier, *self._window_cursors})
        self._window_cursors = set()
        return self._last_cursor

    @override
    def start_partition(self, context: Context | None) -> None:
        self._last_cursor = self.starting_bookmark(context)
        self._window_cursors = set()

    @override
    def window_order(self) -> WindowOrder:
        return CursorOrder(self)


class CursorOrder:
    """admin_audit's order and filter: events sharing a timestamp sorted by cursor, each once.

    The API orders events by time, but events sharing a timestamp come in no defined
    order, so each such run of events is sorted by cursor before it goes out. The spec's
    time order is not relied on for completeness, though: an event is tested against the
    cursor as it stood before the window (the bookmark of the last completed window or
    run), never against the events just before it, so one that arrives out of order is
    emitted too (out of cursor order). Events at or before that cursor, emitted by an
    earlier window or run (the overlap), are left out and counted; events a failed attempt
    at the same window emitted are not emitted again.
    """

    def __init__(self, stream: AdminAuditStream) -> None:
        self._stream = stream
        self._group: list[dict[str, Any]] = []

    def push(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        ready: list[dict[str, Any]] = []
        if self._group and self._group[0]["event_time"] != record["event_time"]:
            ready = self.finish()
        self._group.append(record)
        return ready

    def finish(self) -> list[dict[str, Any]]:
        group, self._group = sorted(self._group, key=lambda r: r["cursor"]), []
        stream = self._stream
        last, emitted = stream._last_cursor, stream._window_cursors  # noqa: SLF001
        ready = []
        for record in group:
            cursor = record["cursor"]
            if last is not None and cursor <= last:
                stream.run.report.already_emitted(stream.name, 1)
            elif cursor not in emitted:
                emitted.add(cursor)
                ready.append(record)
        return ready
