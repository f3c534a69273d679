"""The base stream: time windows, HTTP errors, retries, and state.

Tailscale's log endpoints have no pagination; each GET returns every event between
`start` and `end`. So instead of a paginator this stream walks time windows itself
(`request_records`), and the state bookmark is the frontier of completed windows:

- A window's records are all emitted before the bookmark moves to the window's end,
  and STATE is written right then, so a killed run resumes at the last finished window.
- An empty window still moves the bookmark, so an idle tailnet is not rescanned forever.
- Each run re-reads `overlap_seconds` before the bookmark for late records; every record
  has a deterministic key, so the re-read is harmless to a target that upserts by key.
"""

from __future__ import annotations

import random
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, ClassVar, cast

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_tailscale import __version__
from tap_tailscale.errors import (
    ApiRequestError,
    AuthenticationError,
    MissingScopeError,
    TailscaleUserError,
    redact,
)
from tap_tailscale.output import BufferedMsgSpecWriter
from tap_tailscale.parsing import BodyError, ResponseTooLargeError, iter_log_entries
from tap_tailscale.recording import MissingRecordingError
from tap_tailscale.records import RejectedEntryError
from tap_tailscale.timeutil import (
    floor_to_second,
    format_query_time,
    format_timestamp,
    parse_timestamp,
    utc_now,
)
from tap_tailscale.windows import SyncRange, Window, WindowPlanner, plan_range

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

    from singer_sdk.helpers.types import Context

    from tap_tailscale.tap import TapTailscale

# A window is halved when it fails in a way a smaller window would avoid.
_SHRINK_STATUSES = frozenset((502, 504))


class WindowTooLargeError(Exception):
    """The window failed in a way a smaller window avoids (502, 504, timeout, size)."""


class SkipPartitionError(Exception):
    """This (stream, tailnet) cannot be read, but the run should go on (a warning)."""


class WindowFailedError(Exception):
    """A window could not be read after every retry; the circuit breaker counts it."""


class TailscaleLogStream(RESTStream[Window]):
    """A Tailscale log endpoint read in consecutive time windows, per tailnet."""

    #: The API's path below /api/v2/tailnet/{tailnet}/logging/.
    log_kind: ClassVar[str]
    #: How far back the API keeps this log.
    retention: ClassVar[timedelta]
    #: The setting holding this stream's window size, and its default.
    window_setting: ClassVar[str]
    #: The OAuth scope the endpoint needs, named in 403 messages.
    required_scope: ClassVar[str]

    # Records are shaped and type-checked in tap_tailscale.records, once; the SDK's
    # recursive conforming of every record would cost about a third of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Redirects would carry the credential to wherever they point; the API never needs them.
    allow_redirects = False

    @property
    def path(self) -> str:  # type: ignore[override]
        """The endpoint path; `{tailnet}` is filled from the partition context."""
        return f"/api/v2/tailnet/{{tailnet}}/logging/{self.log_kind}"

    @property
    def tap(self) -> TapTailscale:
        """The tap that owns this stream (shared authenticator, session and run report)."""
        return self._tap  # type: ignore[return-value]

    @override
    @property
    def url_base(self) -> str:
        return self.tap.api_url

    @override
    @property
    def partitions(self) -> list[dict] | None:
        # Every tailnet is its own partition, so each (stream, tailnet) keeps a bookmark.
        return [{"tailnet": tailnet} for tailnet in self.tap.tailnets]

    @override
    @property
    def authenticator(self) -> Any:
        return self.tap.authenticator

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.tap.http_session

    @override
    @cached_property
    def user_agent(self) -> str:
        return f"tap-tailscale/{__version__}"

    @override
    @property
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config.get("request_timeout_seconds", 60))

    # ---- Requests -------------------------------------------------------------------

    @override
    def get_new_paginator(self) -> None:
        # Windows replace pagination: see request_records.
        return None

    @override
    def get_url_params(self, context: Context | None, next_page_token: Window | None) -> dict:
        if next_page_token is None:  # pragma: no cover - windows always pass a token
            raise ValueError("a window is required")
        return {
            "start": format_query_time(next_page_token.start),
            "end": format_query_time(next_page_token.end),
        }

    @override
    def parse_response(self, response: requests.Response) -> Iterable[Any]:
        return iter_log_entries(cast("IO[bytes]", response.raw), max_bytes=self._max_body_bytes)

    def _api_message(self, response: requests.Response) -> str:
        """The API's own `message`, or the start of the body, with secrets removed."""
        try:
            body = response.json()
            message = body.get("message") if isinstance(body, dict) else None
        except ValueError:
            message = None
        if not message:
            message = (response.text or response.reason or "no details").strip()[:200]
        return redact(" ".join(str(message).split()), self.tap.secret_values())

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            if status >= 300:
                raise ApiRequestError(
                    f"{self.name}: the API answered HTTP {status} (a redirect) for "
                    f"{self.tap.api_url}; check api_url."
                )
            declared = response.headers.get("Content-Length")
            if (
                self._max_body_bytes is not None
                and declared
                and int(declared) > self._max_body_bytes
            ):
                raise WindowTooLargeError(f"a {int(declared):,}-byte body")
            return
        message = self._api_message(response)
        if status == 401:
            raise AuthenticationError(
                f"Tailscale rejected the credential (HTTP 401: {message}). The API key or "
                "OAuth client is wrong, expired or revoked: create a new one in the admin "
                "console and update the tap's settings."
            )
        if status == 403:
            self.on_forbidden(message)
        if status in _SHRINK_STATUSES and self._planner is not None and self._planner.can_shrink:
            raise WindowTooLargeError(f"HTTP {status}")
        if status == 429 or status >= 500:
            raise RetriableAPIError(f"HTTP {status}: {message}", response)
        hint = "check the tailnet setting" if status == 404 else "check the settings"
        raise ApiRequestError(
            f"{self.name}: the API refused the request (HTTP {status}: {message}); {hint}."
        )

    def on_forbidden(self, message: str) -> None:
        """Raise the right error for a 403 on this stream's endpoint."""
        raise MissingScopeError(
            f"{self.name}: access denied (HTTP 403: {message}). The credential needs the "
            f"`{self.required_scope}` scope (or `all:read`): grant it to the OAuth client or "
            "use an API key of a user who can read logs."
        )

    def _send(
        self, prepared: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send one attempt; the SDK's request_decorator retries it with our backoff."""
        response: requests.Response | None = None
        for _ in range(2):
            authenticated = self.authenticator(prepared)
            try:
                response = self.requests_session.send(
                    authenticated,
                    timeout=self.timeout,
                    allow_redirects=self.allow_redirects,
                    stream=True,
                )
            except requests.exceptions.ReadTimeout as exc:
                if self._planner is not None and self._planner.can_shrink:
                    raise WindowTooLargeError("a read timeout") from exc
                raise
            except MissingRecordingError as exc:
                # Retrying cannot conjure a recording; fail with its message at once.
                raise ApiRequestError(f"{self.name}: {exc}") from None
            # An access token can die early (revoked, clock skew): refresh once and resend.
            if response.status_code == 401 and self.authenticator.force_refresh():
                response.close()
                continue
            break
        assert response is not None
        try:
            self.validate_response(response)
        except BaseException:
            response.close()
            raise
        return response

    def check_connection(self, tailnet: str) -> str | None:
        """Read one small recent window; None if the stream is usable, else why not."""
        end = floor_to_second(
            utc_now() - timedelta(seconds=float(self.config.get("lag_seconds", 120)))
        )
        window = Window(end - timedelta(minutes=5), end)
        context = {"tailnet": tailnet}
        try:
            for _ in self._read_window_once(window, context, tailnet):
                pass
        except SkipPartitionError as exc:
            return str(exc)
        except TailscaleUserError as exc:
            return str(exc)
        except (RetriableAPIError, WindowTooLargeError, BodyError) as exc:
            return f"the API did not answer usefully ({_describe(exc)}); try again later."
        except requests.exceptions.RequestException as exc:
            return f"{self.tap.api_url} is unreachable ({_describe(exc)}); check api_url."
        return None

    # ---- Backoff (the SDK's hooks, configured from settings) ------------------------

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_attempts", 5))

    @override
    def backoff_jitter(self, value: float) -> float:
        # The wait generator already jitters; jitter on top would overrun Retry-After caps.
        return value

    def retry_delay(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait before retry `attempt` (1-based): Retry-After, else jittered expo."""
        initial = float(self.config.get("initial_backoff_seconds", 2.0))
        ceiling = float(self.config.get("max_backoff_seconds", 60.0))
        retry_after = _retry_after_seconds(error)
        if retry_after is not None:
            return min(retry_after, ceiling)
        delay = min(initial * 2 ** (attempt - 1), ceiling)
        # "Equal jitter": at least half the delay, so retries spread without bunching up.
        return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not cryptographic

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        attempt = 0
        error = yield 0.0  # backoff primes the generator and discards this value
        while True:
            attempt += 1
            error = yield self.retry_delay(attempt, error)

    @override
    def backoff_handler(self, details: Any) -> None:
        error = details.get("exception")
        self.logger.warning(
            "%s: retrying a request for window %s in %.1f s (attempt %d failed: %s)",
            self.name,
            self._current_window,
            details.get("wait", 0.0),
            details.get("tries", 0),
            _describe(error),
        )

    # ---- Windows and state ----------------------------------------------------------

    _planner: WindowPlanner | None = None
    _current_window: Window | None = None
    _max_body_bytes: int | None = None

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
        bookmark = self.starting_bookmark(context)
        return plan_range(
            now=utc_now(),
            bookmark=self.bookmark_time(bookmark) if bookmark else None,
            start_date=self.tap.start_date,
            end_date=self.tap.end_date,
            retention=self.retention,
            lag=timedelta(seconds=float(self.config.get("lag_seconds", 120))),
            overlap=timedelta(seconds=float(self.config.get("overlap_seconds", 300))),
        )

    @override
    def _increment_stream_state(
        self, latest_record: dict, *, context: Context | None = None
    ) -> None:
        # The SDK would move the bookmark to each record's key as it is emitted. A STATE
        # written mid-window (every 10,000 records, or on SIGTERM) would then claim records
        # of that window not yet read. The bookmark moves only in _complete_window.
        return

    @override
    def _write_record_message(self, record: dict) -> None:
        # The SDK's version walks the schema and the record for deselected properties,
        # then conforms and maps, for every record: a fifth of a busy window's time by
        # profile. When all three are no-ops for this run (every property selected,
        # conforming off, one identity stream map) the line it writes is the one the
        # writer writes from the record directly, without the RecordMessage object.
        # Any other catalog or mapper setting takes the SDK's own path.
        writer = self._record_writer
        if writer is None:
            super()._write_record_message(record)
        else:
            writer.write_record(self.name, record, self._stream_version, datetime.now(UTC))
            self.state_manager.is_flushed = False
        if self.ABORT_AT_RECORD_COUNT is not None:
            # Dry runs (the SDK's test runner) stop without a final STATE to push
            # buffered records out, so they go out one by one.
            self.tap.flush_output()

    _record_writer: BufferedMsgSpecWriter | None = None

    @override
    def generate_child_contexts(
        self, record: dict, context: Context | None
    ) -> Iterable[Context | None]:
        # These streams have no children; the default yields a context per record anyway.
        if self.child_streams:  # pragma: no cover - no stream has children
            return super().generate_child_contexts(record, context)
        return ()

    def _plain_record_writer(self) -> BufferedMsgSpecWriter | None:
        """The writer to hand records to directly, if the SDK would not change them."""
        maps = self.stream_maps
        writer = self._tap.message_writer
        if not isinstance(writer, BufferedMsgSpecWriter):
            return None
        plain = (
            self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
            and all(self.mask.values())
        )
        return writer if plain else None

    def _complete_window(self, context: Context | None, window: Window) -> None:
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = self.bookmark_after(window)
        self.state_manager.is_flushed = False
        self._write_state_message()

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        tailnet = str((context or {}).get("tailnet", "-"))
        sync_range = self.plan(context)
        self._warn_unavailable(sync_range, tailnet)
        if sync_range.is_empty:
            self.logger.info("%s [tailnet %s]: nothing new to read yet.", self.name, tailnet)
            return
        size = timedelta(seconds=float(self.config.get(self.window_setting, self.default_window)))
        minimum = timedelta(seconds=float(self.config.get("min_window_seconds", 60)))
        planner = WindowPlanner(sync_range, size=size, min_size=minimum)
        self._planner = planner
        breaker_limit = int(self.config.get("circuit_breaker_failures", 5))
        failures = 0
        boundary_keys: set[str] = set()
        self._record_writer = self._plain_record_writer()
        try:
            while (window := planner.current()) is not None:
                self._current_window = window
                # The body limit exists to split windows; at the minimum size there is
                # nothing smaller to try, and streaming keeps memory flat anyway.
                limit = self.config.get("max_response_bytes")
                self._max_body_bytes = int(limit) if limit and planner.can_shrink else None
                try:
                    window_keys, emitted = yield from self._emit_window(
                        window, context, tailnet, boundary_keys
                    )
                except WindowTooLargeError as exc:
                    self.logger.warning(
                        "%s [tailnet %s]: window %s failed with %s; halving windows to %d s.",
                        self.name,
                        tailnet,
                        window,
                        exc,
                        planner.shrink().total_seconds(),
                    )
                    continue
                except WindowFailedError as exc:
                    failures += 1
                    if not self._wait_or_trip(window, tailnet, exc, failures, breaker_limit):
                        return
                    continue
                failures = 0
                boundary_keys = window_keys
                planner.complete(window)
                self._complete_window(context, window)
                self.tap.report_window(self.name, emitted)
                self.logger.info(
                    "%s [tailnet %s]: window %s done, %d records; bookmark now %s.",
                    self.name,
                    tailnet,
                    window,
                    emitted,
                    self.bookmark_after(window),
                )
        except SkipPartitionError as exc:
            self.tap.report_skip(self.name, tailnet, str(exc))
            self.logger.warning("%s [tailnet %s]: skipped. %s", self.name, tailnet, exc)
        finally:
            self._planner = None
            self._current_window = None
            self.tap.flush_output()

    def _emit_window(
        self, window: Window, context: Context | None, tailnet: str, boundary_keys: set[str]
    ) -> Generator[dict[str, Any], None, tuple[set[str], int]]:
        """Yield one window's records; return the keys on its end bound, and the count."""
        replication_key = str(self.replication_key)
        # The default bookmark is a function of the window alone, so it is formatted once;
        # an override (admin_audit's cursor) may move with every record.
        fixed = type(self).bookmark_after is TailscaleLogStream.bookmark_after
        bookmark = self.bookmark_after(window)
        window_keys: set[str] = set()
        emitted = 0
        for record in self.order_window(self._window_records(window, context, tailnet)):
            key = self.record_key(record)
            # An event exactly on a shared bound comes back in both windows.
            if key in boundary_keys:
                continue
            if record[replication_key] >= (bookmark if fixed else self.bookmark_after(window)):
                window_keys.add(key)
            emitted += 1
            yield record
        return window_keys, emitted

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

    def _wait_or_trip(
        self, window: Window, tailnet: str, error: Exception, failures: int, limit: int
    ) -> bool:
        """After a failed window: wait and return True, or trip the breaker and return False."""
        if failures >= limit:
            self.tap.report_halt(self.name, tailnet, window.start, str(error))
            self.logger.error(
                "%s [tailnet %s]: %d windows in a row failed; stopping this stream. The next "
                "run resumes at %s. Last error: %s",
                self.name,
                tailnet,
                failures,
                window.start.isoformat(),
                error,
            )
            return False
        delay = self.retry_delay(failures)
        self.logger.warning(
            "%s [tailnet %s]: window %s failed (%s); trying it again in %.1f s (%d of %d "
            "failures before the stream stops).",
            self.name,
            tailnet,
            window,
            error,
            delay,
            failures,
            limit,
        )
        time.sleep(delay)
        return True

    def _window_records(
        self, window: Window, context: Context | None, tailnet: str
    ) -> Iterator[dict[str, Any]]:
        """Every record of one window, retrying broken bodies; raises WindowFailedError."""
        attempts = self.backoff_max_tries()
        for attempt in range(1, attempts + 1):
            try:
                yield from self._read_window_once(window, context, tailnet)
                return
            except ResponseTooLargeError as exc:
                raise WindowTooLargeError(str(exc)) from exc
            except BodyError as exc:
                if attempt == attempts:
                    raise WindowFailedError(f"bad response body: {exc}") from exc
                delay = self.retry_delay(attempt)
                self.logger.warning(
                    "%s [tailnet %s]: window %s: %s; reading it again in %.1f s.",
                    self.name,
                    tailnet,
                    window,
                    exc,
                    delay,
                )
                time.sleep(delay)
            except (
                RetriableAPIError,
                requests.exceptions.RequestException,
                ConnectionError,
            ) as exc:
                raise WindowFailedError(_describe(exc)) from exc

    def _read_window_once(
        self, window: Window, context: Context | None, tailnet: str
    ) -> Iterator[dict[str, Any]]:
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=window)
        )
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )
        send = self.request_decorator(self._send)
        with closing(send(prepared, context)) as response:
            for entry in self.parse_response(response):
                try:
                    yield self.shape(entry, tailnet)
                except RejectedEntryError as exc:
                    self.tap.report_rejected(self.name)
                    self.logger.warning(
                        "%s [tailnet %s]: skipped an entry that cannot be emitted (key %s, "
                        "window %s): %s",
                        self.name,
                        tailnet,
                        exc.key or "unknown",
                        window,
                        exc.reason,
                    )

    @property
    def default_window(self) -> float:
        """The window size when the setting is absent."""
        return 3600.0


def _retry_after_seconds(error: BaseException | None) -> float | None:
    """Retry-After as seconds, from either its delta-seconds or its HTTP-date form."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _describe(error: BaseException | None) -> str:
    """A short, secret-free description of a request failure."""
    if error is None:
        return "unknown error"
    if isinstance(error, RetriableAPIError):
        return str(error)
    if isinstance(error, TailscaleUserError):
        return str(error)
    name = type(error).__name__
    if isinstance(error, requests.exceptions.Timeout):
        return f"timeout ({name})"
    if isinstance(error, requests.exceptions.ConnectionError | ConnectionError):
        return f"connection failed ({name})"
    return name
