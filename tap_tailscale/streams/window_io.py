"""One window's HTTP side: the request the SDK builds, its body, and the connection test.

The base log stream mixes this in; the window loop and bookmarks live in log_stream.py.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_tailscale.client import USER_AGENT
from tap_tailscale.client.recording import MissingRecordingError
from tap_tailscale.errors import (
    ANSWER_FAILURES,
    PARTITION_STOPS,
    ApiRequestError,
    MissingScopeError,
    WindowTooLargeError,
    describe,
)
from tap_tailscale.logs import BlockDecoder, Window, copy_body, iter_log_entries, new_spool
from tap_tailscale.sdk_overrides import StreamInternals
from tap_tailscale.timeutil import floor_to_second, format_query_time, utc_now

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator
    from typing import BinaryIO

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_tailscale.client import ResponseRules
    from tap_tailscale.client.auth import TailscaleAuthenticator
    from tap_tailscale.streams.context import RunContext


class WindowIO(StreamInternals):
    """Requests of one Tailscale log endpoint, one window at a time."""

    #: The API's path below /api/v2/tailnet/{tailnet}/logging/.
    log_kind: ClassVar[str]
    #: The OAuth scope the endpoint needs, named in 403 messages.
    required_scope: ClassVar[str]

    def __init__(self, tap: Tap, run: RunContext) -> None:
        self.run = run
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
        return self.run.settings.api_url

    @override
    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        # Every tailnet is its own partition, so each (stream, tailnet) keeps a bookmark.
        return [{"tailnet": tailnet} for tailnet in self.run.settings.tailnets]

    @override
    @property
    def authenticator(self) -> TailscaleAuthenticator:
        return self.run.client.authenticator()

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.run.client.session()

    @override
    @cached_property
    def user_agent(self) -> str:
        return USER_AGENT

    @override
    @property
    def timeout(self) -> float:  # type: ignore[override]
        return self.run.settings.request_timeout

    @override
    def get_new_paginator(self) -> None:
        # Windows replace pagination: see tap_tailscale.logs.runner.
        return None

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: Window | None
    ) -> dict[str, Any]:
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

    def prepare(self, window: Window, context: Context | None) -> requests.PreparedRequest:
        """The window's request, built the SDK's way (URL, params, headers, user agent)."""
        http_request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=window)
        )
        return self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )

    def read_entries(
        self,
        window: Window,
        context: Context | None,
        *,
        can_shrink: bool,
        block_decoder: BlockDecoder | None = None,
    ) -> Iterator[Any]:
        """Request one window and yield its API entries; raise on any failure."""
        try:
            with self.run.client.open(
                self.prepare(window, context), self._response_rules(can_shrink)
            ) as body:
                yield from iter_log_entries(
                    self.sniffed(body, context, window),
                    max_entry_bytes=self.run.settings.max_entry_bytes,
                    block_decoder=block_decoder,
                )
        except MissingRecordingError as exc:
            # Retrying cannot conjure a recording; fail with its message at once.
            raise ApiRequestError(f"{self.name}: {exc}") from None

    def sniffed(self, body: Any, context: Context | None, window: Window) -> Any:
        """The body, telling the run the tailnet's name if this log names it.

        A body that does not name it before its `logs` makes the tap ask once, for the
        first second of the same window, before any record is shaped.
        """
        if self.log_kind != "configuration":
            return body
        tailnet = str((context or {}).get("tailnet", "-"))
        return self.run.names.sniffing(body, tailnet, window.start + timedelta(seconds=1))

    def fetch_ahead(
        self, window: Window, context: Context | None, can_shrink: bool, cancel: threading.Event
    ) -> BinaryIO:
        """Read one window's whole body into a spool (a read-ahead thread)."""
        spool = new_spool()
        try:
            with self.run.client.open(
                self.prepare(window, context), self._response_rules(can_shrink)
            ) as body:
                copy_body(body.read, spool, cancel)
        except BaseException:
            spool.close()
            raise
        return spool

    def _response_rules(self, can_shrink: bool) -> ResponseRules:
        return self.run.client.rules(
            self.name, can_shrink=can_shrink, on_forbidden=self.on_forbidden
        )

    # ---- The connection test --------------------------------------------------------

    def check_connection(self, tailnet: str) -> str | None:
        """Read one small recent window; None if the stream is usable, else why not."""
        end = floor_to_second(utc_now() - self.run.settings.lag)
        window = Window(end - timedelta(minutes=5), end)
        try:
            for _ in self.read_entries(window, {"tailnet": tailnet}, can_shrink=False):
                pass
        except PARTITION_STOPS as exc:
            return str(exc)
        except (*ANSWER_FAILURES, WindowTooLargeError) as exc:
            return f"the API did not answer usefully ({describe(exc)}); try again later."
        except requests.exceptions.RequestException as exc:
            return f"{self.run.settings.api_url} is unreachable ({describe(exc)}); check api_url."
        return None
