"""The base log stream: one Tailscale log endpoint, read per tailnet in time windows.

Tailscale's log endpoints have no pagination; each GET returns every event between
`start` and `end`. So instead of a paginator the stream hands a window runner
(`tap_tailscale.logs.runner`) a way to read one window, and the state bookmark is the
frontier of completed windows:

- A window's records are all emitted before the bookmark moves to the window's end,
  and STATE is written right then, so a killed run resumes at the last finished window.
- An empty window still moves the bookmark, so an idle tailnet is not rescanned forever.
- Each run re-reads `overlap_seconds` before the bookmark for late records; every record
  has a deterministic key, so the re-read is harmless to a target that upserts by key.
"""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Any, ClassVar, cast

from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_tailscale.errors import (
    TAILNET_FAILURES,
    RejectedEntryError,
)
from tap_tailscale.logs import (
    ArrivalOrder,
    BlockDecoder,
    CompanionSet,
    Outcome,
    ReadAhead,
    SyncRange,
    Window,
    WindowJob,
    WindowOrder,
    WindowPlanner,
    iter_log_entries,
    merge_ranges,
    ordered,
    plan_range,
    run_windows,
)
from tap_tailscale.streams.window_io import WindowIO
from tap_tailscale.timeutil import format_timestamp, parse_timestamp, utc_now, widen_bookmark

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable, Iterator
    from datetime import datetime, timedelta
    from typing import BinaryIO

    from singer_sdk.helpers.types import Context


class TailscaleLogStream(WindowIO):
    """A Tailscale log endpoint read in consecutive time windows, per tailnet."""

    #: The API's path below /api/v2/tailnet/{tailnet}/logging/.
    log_kind: ClassVar[str]
    #: How far back the API keeps this log.
    retention: ClassVar[timedelta]
    #: The OAuth scope the endpoint needs, named in 403 messages.
    required_scope: ClassVar[str]
    #: The record field that places a record in time (fixed-width, sorts as text).
    time_field: ClassVar[str]

    # Records are shaped and type-checked in tap_tailscale.logs.records, once; the SDK's
    # recursive conforming of every record would cost about a third of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    # The last window on_end_bound saw, and its end in the records' time format.
    _end_window: Window | None = None
    _end_key = ""

    # ---- Records and bookmarks ------------------------------------------------------

    def shape(self, entry: Any, tailnet: str) -> dict[str, Any]:
        """Turn one API entry into a record; raise RejectedEntryError if it cannot be."""
        raise NotImplementedError

    def shape_many(self, entry: Any, tailnet: str) -> list[dict[str, Any]]:
        """The records one entry becomes (a connection stream makes several)."""
        return [self.shape(entry, tailnet)]

    def shape_entry(self, entry: Any, tailnet: str, window: Window) -> list[dict[str, Any]]:
        """The records of one entry, named by the resolved tailnet; [] if rejected."""
        try:
            return self.shape_many(entry, self.run.names.name_of(tailnet))
        except RejectedEntryError as exc:
            self._reject(exc, window, tailnet)
            return []

    def block_decoder(self, companions: list[TailscaleLogStream]) -> BlockDecoder | None:
        """A faster form of this read's entries for `shape`, when nothing else reads them.

        None (the default) means dicts, which every stream and companion takes.
        """
        return None

    def window_order(self) -> WindowOrder:
        """How one window's records are ordered before they go out (admin_audit sorts)."""
        return ArrivalOrder()

    def record_key(self, record: dict[str, Any]) -> str:
        """The record's deterministic primary key."""
        return str(record[self.primary_keys[0]])

    def on_end_bound(self, record: dict[str, Any], window: Window) -> bool:
        """True for a record on the window's end bound (the next window may return it)."""
        if window is not self._end_window:  # formatted once per window, not per record
            self._end_window, self._end_key = window, format_timestamp(window.end)
        return bool(record[self.time_field] >= self._end_key)

    def bookmark_time(self, value: str) -> datetime:
        """The instant a stored bookmark stands for."""
        return parse_timestamp(value)

    def bookmark_after(self, window: Window) -> str:
        """The bookmark once `window` is complete: its end, in the replication-key format."""
        return format_timestamp(window.end)

    def starting_bookmark(self, context: Context | None) -> str | None:
        """The bookmark this partition starts from, if any."""
        state = self.get_context_state(context)
        if state.get("replication_key") == self.replication_key:
            value = state.get("replication_key_value")
            # Bookmarks of earlier versions have six fractional digits; widened, they
            # compare as strings with today's nine.
            return widen_bookmark(str(value)) if value else None
        return None

    def plan(self, context: Context | None) -> SyncRange:
        """The range this run reads for the partition in `context`."""
        settings = self.run.settings
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

    def advance_bookmark(self, context: Context | None, window: Window) -> str:
        """Move the bookmark past a completed window, never backwards; return it."""
        state = self.get_context_state(context)
        bookmark = self.bookmark_after(window)
        current = self.starting_bookmark(context)
        if current is not None and current > bookmark:
            return current
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = bookmark
        return bookmark

    def commit_window(self, context: Context | None, window: Window) -> str:
        """Move the bookmark past a completed window and write STATE; return the bookmark."""
        bookmark = self.advance_bookmark(context, window)
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
        if self.run.companions.was_fed(self.name, tailnet):
            self.logger.info("%s [tailnet %s]: read together with its log.", self.name, tailnet)
            return
        self.start_partition(context)
        companions = self._take_companions(context, tailnet)
        served: list[TailscaleLogStream] = [self, *companions]
        ranges = [stream.plan(context) for stream in served]
        for stream, span in zip(served, ranges, strict=True):
            stream._warn_unavailable(span, tailnet)  # noqa: SLF001 - one class
        sync_range = merge_ranges(ranges)
        if sync_range.is_empty:
            self.logger.info("%s [tailnet %s]: nothing new to read yet.", self.name, tailnet)
            self._finished(served, tailnet)
            return
        self.choose_record_writer()
        try:
            windows = run_windows(self._window_job(context, tailnet, sync_range, companions))
            if self.emits_directly:
                self.emit_all(windows)
            else:
                yield from windows
            if windows.outcome is Outcome.FINISHED:
                self._finished(served, tailnet)
            elif windows.outcome is Outcome.SKIPPED:
                self._skipped(served, tailnet, windows.reason)
        except TAILNET_FAILURES as exc:
            # One bad tailnet must not stop the others; the run still fails at the end.
            self.run.report.tailnet_failed((stream.name for stream in served), tailnet, str(exc))
            self.logger.error("%s [tailnet %s]: %s", self.name, tailnet, exc)
        finally:
            self.flush_records()

    def _skipped(self, served: list[TailscaleLogStream], tailnet: str, reason: str) -> None:
        for stream in served:
            self.run.report.partition_skipped(stream.name, tailnet, reason)
        self.logger.warning("%s [tailnet %s]: skipped. %s", self.name, tailnet, reason)

    def _finished(self, served: list[TailscaleLogStream], tailnet: str) -> None:
        for stream in served:
            self.run.report.partition_finished(stream.name, tailnet)

    def _take_companions(self, context: Context | None, tailnet: str) -> list[TailscaleLogStream]:
        """The later selected streams of this log, now fed by this stream's read."""
        companions: list[TailscaleLogStream] = self.run.companions.take(
            self.log_kind, self, tailnet
        )
        for stream in companions:
            stream.start_partition(context)
            stream.announce()
        return companions

    @property
    def read_ahead_depth(self) -> int:
        """Windows in flight; 1 when recording or replaying, whose files are numbered in order."""
        settings = self.run.settings
        if settings.record_dir or settings.replay_dir:
            return 1
        return settings.read_ahead_windows

    def start_partition(self, context: Context | None) -> None:
        """Prepare to read one partition (admin_audit loads its cursor here)."""

    def _window_job(
        self,
        context: Context | None,
        tailnet: str,
        span: SyncRange,
        companions: list[TailscaleLogStream],
    ) -> WindowJob:
        settings = self.run.settings
        planner = WindowPlanner(span, size=self.window_size, min_size=settings.min_window)
        companion_set = CompanionSet(list(companions), tailnet)
        decoder = self.block_decoder(companions)
        records = _WindowRecords(self, context, tailnet, companion_set, decoder)

        def read(window: Window) -> Iterator[dict[str, Any]]:
            entries = self.read_entries(
                window, context, can_shrink=planner.can_shrink, block_decoder=decoder
            )
            return records(window, entries)

        def fetch(window: Window, cancel: threading.Event) -> BinaryIO:
            return self.fetch_ahead(window, context, planner.can_shrink, cancel)

        def commit(window: Window) -> str:
            for feed in companion_set.finish_window():
                companion = cast("TailscaleLogStream", feed.companion)
                companion.advance_bookmark(context, window)
                self.run.report.window_done(companion.name, new=feed.emitted, reread=0)
            return self.commit_window(context, window)

        return WindowJob(
            stream=self.name,
            tailnet=tailnet,
            label=", ".join(stream.name for stream in (self, *companions)),
            planner=planner,
            retry=self.run.client.retry_loop(),
            report=self.run.report,
            logger=self.logger,
            read=read,
            commit=commit,
            key=self.record_key,
            on_end_bound=self.on_end_bound,
            read_ahead=ReadAhead(self.read_ahead_depth, fetch),
            parse=records.from_spool,
            is_reread=self._reread_test(context),
        )

    def _reread_test(self, context: Context | None) -> Callable[[dict[str, Any]], bool]:
        """True for a record at or before the partition's starting bookmark (the overlap)."""
        started_at = self.starting_bookmark(context)
        replication_key = str(self.replication_key)
        if not started_at:
            return lambda _record: False
        return lambda record: record[replication_key] <= started_at

    def _reject(self, error: RejectedEntryError, window: Window, tailnet: str) -> None:
        self.run.report.entry_rejected(self.name)
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


class _WindowRecords:
    """One window's entries, fanned out to the companions and shaped for the driver."""

    def __init__(
        self,
        stream: TailscaleLogStream,
        context: Context | None,
        tailnet: str,
        companion_set: CompanionSet,
        decoder: BlockDecoder | None,
    ) -> None:
        self._stream = stream
        self._context = context
        self._tailnet = tailnet
        self._companion_set = companion_set
        self._decoder = decoder

    def __call__(self, window: Window, entries: Iterator[Any]) -> Iterator[dict[str, Any]]:
        feeds = self._companion_set.start_window(window)
        stream, tailnet = self._stream, self._tailnet

        def own() -> Iterator[dict[str, Any]]:
            for entry in entries:
                for feed in feeds:
                    feed.add(entry)
                yield from stream.shape_entry(entry, tailnet, window)

        return ordered(own(), stream.window_order())

    def from_spool(self, window: Window, spool: BinaryIO) -> Iterator[dict[str, Any]]:
        """The records of a window read ahead into a spool (the spool is closed after)."""
        with closing(spool):
            body = self._stream.sniffed(spool, self._context, window)
            limit = self._stream.run.settings.max_entry_bytes
            entries = iter_log_entries(body, max_entry_bytes=limit, block_decoder=self._decoder)
            yield from self(window, entries)
