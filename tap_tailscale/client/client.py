"""The one HTTP client: every request the tap sends, with one set of rules.

Log windows, inventory snapshots and the tailnet-name lookup all go through
`TailscaleClient`: the same session (connection reuse, recording and replay), the same
authenticator (refreshed once on a 401), the same User-Agent, the same read timeout and
total deadline, the same status table (`exchange.check_response`), the same secret
scrubbing and the same retry loop. A failure therefore means the same thing whichever
endpoint met it.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests

from tap_tailscale import __version__
from tap_tailscale.client.exchange import DeadlineReader, Exchange, ResponseRules, open_body
from tap_tailscale.client.retry import RetryPolicy
from tap_tailscale.errors import (
    FETCH_FAILURES,
    BodyError,
    DeadlineExceededError,
    MissingScopeError,
    ResponseTooLargeError,
    RetriableError,
    describe,
)
from tap_tailscale.timeutil import format_timestamp, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from tap_tailscale.client.auth import TailscaleAuthenticator
    from tap_tailscale.settings import Settings

USER_AGENT = f"tap-tailscale/{__version__}"


@dataclass(frozen=True)
class Snapshot:
    """One whole response: its body and the headers that matter (ETag, Date)."""

    body: bytes
    headers: Mapping[str, str]

    @property
    def taken_at(self) -> str:
        """When the API took the snapshot (its Date header), else now: the `synced_at`."""
        date = next((v for k, v in self.headers.items() if k.lower() == "date"), None)
        try:
            moment = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            moment = None
        return format_timestamp(moment if moment and moment.tzinfo else utc_now())

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON fails like a broken body."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BodyError(f"the body is not valid JSON ({exc})") from None


class RetryLoop:
    """The one retry loop: counts the failed attempts of one unit of work and waits.

    The unit is a whole read: a log window (request and body), an inventory snapshot,
    or a name lookup. `max_attempts` failures of any retryable kind spend the budget.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0

    def again(self, error: BaseException, on_wait: Callable[[float], None] | None = None) -> bool:
        """After a failure: wait and return True, or return False once the budget is spent.

        `on_wait` hears the delay before the wait (to log it).
        """
        self.failures += 1
        if self.failures >= self.policy.max_attempts:
            return False
        delay = self.policy.delay(self.failures, error)
        if on_wait is not None:
            on_wait(delay)
        self.policy.sleep(delay)
        return True

    def succeeded(self) -> None:
        """The unit went through: the next unit starts with a full budget."""
        self.failures = 0


def _missing_scope(stream: str, message: str) -> None:
    raise MissingScopeError(f"{stream}: access denied (HTTP 403: {message}).")


class TailscaleClient:
    """Sends every request of one run; built lazily so discovery needs no credentials."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: Callable[[], requests.Session],
        authenticator: Callable[[], TailscaleAuthenticator],
        secrets: Callable[[], list[str]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session
        self.authenticator = authenticator
        self.secrets = secrets
        #: Monotonic seconds, for request deadlines; injectable in tests.
        self.clock = clock
        self.sleep = sleep

    # ---- Building blocks ------------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of an API path below /api/v2/."""
        return f"{self.settings.api_url}/api/v2/{path.lstrip('/')}"

    def prepare(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.PreparedRequest:
        """A GET of `/api/v2/{path}` with the tap's User-Agent."""
        return requests.Request(
            "GET",
            self.url(path),
            params=dict(params or {}),
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        ).prepare()

    def rules(
        self,
        stream: str,
        *,
        can_shrink: bool = False,
        on_forbidden: Callable[[str], None] | None = None,
        on_not_found: Callable[[str], None] | None = None,
        max_body_bytes: int | None = None,
    ) -> ResponseRules:
        """The response rules of one stream's requests (see exchange.check_response).

        A window that can shrink is held to max_response_bytes: a smaller window may pass.
        Where nothing smaller can be asked for, streaming keeps memory flat, and the
        limit is `max_body_bytes` (None: none).
        """
        return ResponseRules(
            stream=stream,
            api_url=self.settings.api_url,
            can_shrink=can_shrink,
            max_body_bytes=self.settings.max_response_bytes if can_shrink else max_body_bytes,
            on_forbidden=on_forbidden or (lambda message: _missing_scope(stream, message)),
            secrets=self.secrets,
            on_not_found=on_not_found,
        )

    def retry_loop(self) -> RetryLoop:
        """A fresh retry budget for one unit of work."""
        settings = self.settings
        return RetryLoop(
            RetryPolicy(
                max_attempts=settings.max_attempts,
                initial=settings.initial_backoff,
                ceiling=settings.max_backoff,
                sleep=self.sleep,
            )
        )

    def exchange(self) -> Exchange:
        """The connection and limits of one attempt."""
        return Exchange(
            session=self.session(),
            authenticator=self.authenticator(),
            timeout=self.settings.request_timeout,
            deadline_seconds=self.settings.request_deadline,
            clock=self.clock,
        )

    # ---- One attempt ----------------------------------------------------------------

    @contextmanager
    def open(
        self, request: requests.PreparedRequest, rules: ResponseRules
    ) -> Iterator[DeadlineReader]:
        """Send once, check the status, and give the body behind the total deadline."""
        with open_body(request, self.exchange(), rules) as body:
            yield body

    # ---- Retried reads --------------------------------------------------------------

    def get(
        self,
        path: str,
        rules: ResponseRules,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> Snapshot:
        """GET `/api/v2/{path}` whole, retried by the one loop.

        Raises RetriableError once the budget is spent (the caller halts), and whatever
        `rules` make of a status that no retry helps (a skip, a user error).
        `on_retry` hears of each failed attempt that will be retried (a 429, say).
        """
        request = self.prepare(path, params, headers)
        loop = self.retry_loop()
        while True:
            try:
                with self.open(request, rules) as body:
                    return Snapshot(_read_all(body), body.headers)
            except FETCH_FAILURES as exc:
                heard = None if on_retry is None else (lambda _delay, e=exc: on_retry(e))
                if not loop.again(exc, on_wait=heard):
                    raise RetriableError(describe(exc)) from exc

    @contextmanager
    def open_retrying(
        self, path: str, rules: ResponseRules, *, params: Mapping[str, Any] | None = None
    ) -> Iterator[DeadlineReader]:
        """GET `/api/v2/{path}` and give its body unread, for a body too big to hold.

        Opening is retried like `get`; a body that breaks off later fails (BodyError),
        since what was read of it is already out.
        """
        request = self.prepare(path, params)
        loop = self.retry_loop()
        while True:
            opened = ExitStack()
            try:
                body = opened.enter_context(self.open(request, rules))
            except FETCH_FAILURES as exc:
                opened.close()
                if not loop.again(exc):
                    raise RetriableError(describe(exc)) from exc
                continue
            with opened:
                yield body
            return


def _read_all(body: DeadlineReader) -> bytes:
    """The whole body; a cut connection is a BodyError."""
    try:
        return body.read(-1)
    except (DeadlineExceededError, ResponseTooLargeError):
        raise
    except Exception as exc:  # urllib3 raises several types for a cut body
        raise BodyError(f"the connection broke ({type(exc).__name__})") from exc
