"""The base log stream: one Tailscale log endpoint, read per tailnet in time windows.

Tailscale's log endpoints have no pagination; each GET returns every event between
`start` and `end`. So instead of a paginator the stream hands a window runner
(`tap_tailscale.runner`) a way to read one window, and the state bookmark is the
frontier of completed windows:

- A window's records are all emitted before the bookmark moves to the window's end,
  and STATE is written right then, so a killed run resumes at the last finished window.
- An empty window still moves the bookmark, so an idle tailnet is not rescanned forever.
- Each run re-reads `overlap_seconds` before the bookmark for late records; every record
  has a deterministic key, so the re-read is harmless to a target that upserts by key.
"""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_tailscale import __version__
from tap_tailscale.errors import (
    ApiRequestError,
    MissingScopeError,
    TailscaleUserError,
)
from tap_tailscale.parsing import BodyError, iter_log_entries
from tap_tailscale.recording import MissingRecordingError
from tap_tailscale.records import RejectedEntryError
from tap_tailscale.request import (
    ResponseRules,
    SkipPartitionError,
    WindowTooLargeError,
    check_response,
    deadline_reader,
    send,
)
from tap_tailscale.retry import RetriableError, RetryPolicy
from tap_tailscale.runner import WindowJob, describe, run_windows
from tap_tailscale.sdk_internals import StreamInternals
from tap_tailscale.timeutil import (
    floor_to_second,
    format_query_time,
    format_timestamp,
    parse_timestamp,
    utc_now,
)
from tap_tailscale.windows import SyncRange, Window, WindowPlanner, plan_range

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_tailscale.auth import TailscaleAuthenticator
    from tap_tailscale.services import StreamServices


class TailscaleLogStream(StreamInternals):
    """A Tailscale log endpoint read in consecutive time windows, per tailnet."""

    #: The API's path below /api/v2/tailnet/{tailnet}/logging/.
    log_kind: ClassVar[str]
    #: How far back the API keeps this log.
    retention: ClassVar[timedelta]
    #: The OAuth scope the endpoint needs, named in 403 messages.
    required_scope: ClassVar[str]
    #: The record field that places a record in time (fixed-width, sorts as text).
    time_field: ClassVar[str]

    # Records are shaped and type-checked in tap_tailscale.records, once; the SDK's
    # recursive conforming of every record would cost about a third of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, services: StreamServices) -> None:
        self.services = services
        super().__init__(tap)

    @property
    def window_size(self) -> timedelta:
        """The configured window size of this stream."""
        raise NotImplementedError

    @override
    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/api/v2/tailnet/{{tailnet}}/logging/{self.log_kind}"

    @override
    @property
    def url_base(self) -> str:
        return self.services.settings.api_url

    @override
    @property
    def partitions(self) -> list[dict] | None:
        # Every tailnet is its own partition, so each (stream, tailnet) keeps a bookmark.
        return [{"tailnet": tailnet} for tailnet in self.services.settings.tailnets]

    @override
    @property
    def authenticator(self) -> TailscaleAuthenticator:
        return self.services.authenticator()

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.services.session()

    @override
    @cached_property
    def user_agent(self) -> str:
        return f"tap-tailscale/{__version__}"

    @override
    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self.services.settings.request_timeout

    @override
    def get_new_paginator(self) -> None:
        # Windows replace pagination: see tap_tailscale.runner.
        return None

    @override
    def get_url_params(self, context: Context | None, next_page_token: Window | None) -> dict:
        if next_page_token is None:  # pragma: no cover - windows always pass a token
            raise ValueError("a window is required")
        return {
            "start": format_query_time(next_page_token.start),
            "end": format_query_time(next_page_token.end),
        }

    def on_forbidden(self, message: str) -> None:
        """Raise the right error for a 403 on this stream's endpoint."""
        raise MissingScopeError(
            f"{self.name}: access denied (HTTP 403: {message}). The credential needs the "
            f"`{self.required_scope}` scope (or `all:read`): grant it to the OAuth client or "
            "use an API key of a user who can read logs."
        )

    # ---- Records and bookmarks ------------------------------------------------------

    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        """Turn one API entry into a record; raise RejectedEntryError if it cannot be."""
        raise NotImplementedError

    def record_key(self, record: dict[str, Any]) -> str:
        """The record's deterministic primary key."""
        return str(record[self.primary_keys[0]])

    def bookmark_time(self, value: str) -> datetime:
        """The instant a stored bookmark stands for."""
        return parse_timestamp(value)

    def bookmark_after(self, window: Window) -> str:
        """The bookmark once `window` is complete: its end, in the replication-key format."""
        return format_timestamp(window.end)

    def order_window(self, records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A hook to filter or reorder one window's records (admin_audit uses it)."""
        return records

    def starting_bookmark(self, context: Context | None) -> str | None:
        """The bookmark this partition starts from, if any."""
        state = self.get_context_state(context)
        if state.get("replication_key") == self.replication_key:
            value = state.get("replication_key_value")
            return str(value) if value else None
        return None

    def plan(self, context: Context | None) -> SyncRange:
        """The range this run reads for the partition in `context`."""
        settings = self.services.settings
        bookmark = self.starting_bookmark(context)
        return plan_range(
            now=utc_now(),
            bookmark=self.bookmark_time(bookmark) if bookmark else None,
            start_date=settings.start_date,
            end_date=settings.end_date,
            retention=self.retention,
            lag=settings.lag,
            overlap=settings.overlap,
        )

    def commit_window(self, context: Context | None, window: Window) -> str:
        """Move the bookmark past a completed window and write STATE; return the bookmark."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = bookmark = self.bookmark_after(window)
        if self.get_batch_config(self.config):
            # In batch mode the records are still in a batch file that no BATCH message
            # has announced; the SDK writes STATE right after each BATCH message.
            self.mark_state_changed()
        else:
            self.write_state()
        return bookmark

    # ---- The window loop ------------------------------------------------------------

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        tailnet = str((context or {}).get("tailnet", "-"))
        sync_range = self.plan(context)
        self._warn_unavailable(sync_range, tailnet)
        if sync_range.is_empty:
            self.logger.info("%s [tailnet %s]: nothing new to read yet.", self.name, tailnet)
            return
        self.choose_record_writer()
        try:
            yield from run_windows(self._window_job(context, tailnet, sync_range))
        except SkipPartitionError as exc:
            self.services.report.partition_skipped(self.name, tailnet, str(exc))
            self.logger.warning("%s [tailnet %s]: skipped. %s", self.name, tailnet, exc)
        except (ApiRequestError, MissingScopeError) as exc:
            # One bad tailnet must not stop the others; the run still fails at the end.
            self.services.report.tailnet_failed(self.name, tailnet, str(exc))
            self.logger.error("%s [tailnet %s]: %s", self.name, tailnet, exc)
        finally:
            self.flush_records()

    def _window_job(self, context: Context | None, tailnet: str, span: SyncRange) -> WindowJob:
        settings = self.services.settings
        planner = WindowPlanner(span, size=self.window_size, min_size=settings.min_window)
        started_at = self.starting_bookmark(context)
        replication_key = str(self.replication_key)
        time_field = self.time_field

        def read(window: Window) -> Iterator[dict[str, Any]]:
            return self.order_window(
                self.read_window(window, context, tailnet, can_shrink=planner.can_shrink)
            )

        return WindowJob(
            stream=self.name,
            tailnet=tailnet,
            planner=planner,
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                initial=settings.initial_backoff,
                ceiling=settings.max_backoff,
                sleep=self.services.sleep,
            ),
            report=self.services.report,
            logger=self.logger,
            read=read,
            commit=lambda window: self.commit_window(context, window),
            key=self.record_key,
            on_end_bound=lambda record, window: record[time_field] >= format_timestamp(window.end),
            is_reread=(
                (lambda record: record[replication_key] <= started_at)
                if started_at
                else (lambda _record: False)
            ),
        )

    def read_window(
        self, window: Window, context: Context | None, tailnet: str, *, can_shrink: bool
    ) -> Iterator[dict[str, Any]]:
        """Request one window and yield its records; raise on any failure."""
        settings = self.services.settings
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=window)
        )
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )
        clock = self.services.clock
        deadline = clock() + settings.request_deadline
        try:
            response = send(
                self.requests_session, prepared, self.authenticator, timeout=self.timeout
            )
        except requests.exceptions.ReadTimeout as exc:
            if can_shrink:
                raise WindowTooLargeError("a read timeout") from exc
            raise
        except MissingRecordingError as exc:
            # Retrying cannot conjure a recording; fail with its message at once.
            raise ApiRequestError(f"{self.name}: {exc}") from None
        with closing(response):
            check_response(response, self._response_rules(can_shrink))
            body = deadline_reader(response, deadline - clock(), clock)
            limit = settings.max_response_bytes if can_shrink else None
            for entry in iter_log_entries(body, max_bytes=limit):  # type: ignore[arg-type]
                try:
                    yield self.shape(entry, tailnet)
                except RejectedEntryError as exc:
                    self._reject(exc, window, tailnet)

    def _response_rules(self, can_shrink: bool) -> ResponseRules:
        settings = self.services.settings
        return ResponseRules(
            stream=self.name,
            api_url=settings.api_url,
            can_shrink=can_shrink,
            # The body limit exists to split windows; at the minimum size there is
            # nothing smaller to try, and streaming keeps memory flat anyway.
            max_body_bytes=settings.max_response_bytes if can_shrink else None,
            on_forbidden=self.on_forbidden,
            secrets=self.services.secrets,
        )

    def _reject(self, error: RejectedEntryError, window: Window, tailnet: str) -> None:
        self.services.report.entry_rejected(self.name)
        self.logger.warning(
            "%s [tailnet %s]: skipped an entry that cannot be emitted (key %s, window %s): %s",
            self.name,
            tailnet,
            error.key or "unknown",
            window,
            error.reason,
        )

    def _warn_unavailable(self, sync_range: SyncRange, tailnet: str) -> None:
        if not sync_range.unavailable:
            return
        lost_from, lost_to = sync_range.unavailable
        self.logger.warning(
            "%s [tailnet %s]: events from %s to %s are older than the API's %d-day "
            "retention and cannot be read; starting at %s.",
            self.name,
            tailnet,
            lost_from.isoformat(),
            lost_to.isoformat(),
            self.retention.days,
            lost_to.isoformat(),
        )

    # ---- The connection test --------------------------------------------------------

    def check_connection(self, tailnet: str) -> str | None:
        """Read one small recent window; None if the stream is usable, else why not."""
        end = floor_to_second(utc_now() - self.services.settings.lag)
        window = Window(end - timedelta(minutes=5), end)
        try:
            for _ in self.read_window(window, {"tailnet": tailnet}, tailnet, can_shrink=False):
                pass
        except (SkipPartitionError, TailscaleUserError) as exc:
            return str(exc)
        except (RetriableError, WindowTooLargeError, BodyError) as exc:
            return f"the API did not answer usefully ({describe(exc)}); try again later."
        except requests.exceptions.RequestException as exc:
            return (
                f"{self.services.settings.api_url} is unreachable ({describe(exc)}); check api_url."
            )
        return None
