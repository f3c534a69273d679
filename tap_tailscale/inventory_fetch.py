"""Reading one inventory endpoint: a whole snapshot in one GET, retried by the one policy.

Inventory endpoints have no pagination and no time filter. A missing scope (a 403, or a
404 from an endpoint the live API hides, see tap_tailscale.scopes) skips the stream with
a warning naming the scope, and the other streams go on; a 404 from a tailnet the API
does not know is still an error. A body too big to hold (the device list) is opened and
streamed instead (tap_tailscale.device_listing).
"""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import requests

from tap_tailscale import __version__
from tap_tailscale.errors import (
    FETCH_FAILURES,
    ApiRequestError,
    BodyError,
    DeadlineExceededError,
    HiddenEndpointError,
    RetriableError,
    SkipPartitionError,
    describe,
)
from tap_tailscale.request import DeadlineReader, Exchange, ResponseRules, open_body
from tap_tailscale.retry import RetryPolicy
from tap_tailscale.scopes import ScopeNeed
from tap_tailscale.tailnet_names import tailnet_exists
from tap_tailscale.timeutil import format_timestamp, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from tap_tailscale.services import StreamServices

logger = logging.getLogger(__name__)

DEVICES_SCOPE = ScopeNeed(("devices:core:read",))


@dataclass(frozen=True)
class Snapshot:
    """One inventory response: its body and the headers that matter (ETag, Date)."""

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
            raise BodyError(f"the inventory body is not valid JSON ({exc})") from None


@dataclass(frozen=True)
class _Call:
    """One inventory GET and what reading it needs: the rules, retries and exchange."""

    request: requests.PreparedRequest
    rules: ResponseRules
    policy: RetryPolicy
    exchange: Exchange
    max_attempts: int


def _call(
    services: StreamServices,
    path: str,
    *,
    stream: str,
    scope: ScopeNeed,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> _Call:
    settings = services.settings
    request = requests.Request(
        "GET",
        f"{settings.api_url}/api/v2/{path}",
        params=dict(params or {}),
        headers={"User-Agent": f"tap-tailscale/{__version__}", **(headers or {})},
    ).prepare()
    rules = ResponseRules(
        stream=stream,
        api_url=settings.api_url,
        can_shrink=False,
        max_body_bytes=None,
        on_forbidden=lambda message: _missing_scope(stream, scope, message),
        secrets=services.secrets,
        on_not_found=partial(_hidden, stream, scope) if scope.hidden else None,
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        initial=settings.initial_backoff,
        ceiling=settings.max_backoff,
        sleep=services.sleep,
    )
    exchange = Exchange(
        session=services.session(),
        authenticator=services.authenticator(),
        timeout=settings.request_timeout,
        deadline_seconds=settings.request_deadline,
        clock=services.clock,
    )
    return _Call(request, rules, policy, exchange, settings.max_attempts)


def fetch(
    services: StreamServices,
    path: str,
    *,
    stream: str,
    scope: ScopeNeed,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    on_retry: Callable[[BaseException], None] | None = None,
) -> Snapshot:
    """GET `/api/v2/{path}`; raise SkipPartitionError when the scope is missing, and
    HiddenEndpointError for a 404 from an endpoint that hides itself without it.

    `on_retry` hears of each failed attempt that will be retried (a 429, say).
    """
    call = _call(services, path, stream=stream, scope=scope, params=params, headers=headers)
    attempt = 0
    while True:
        attempt += 1
        try:
            with open_body(call.request, call.exchange, call.rules) as body:
                return Snapshot(_read_all(body), body.headers)
        except FETCH_FAILURES as exc:
            if attempt >= call.max_attempts:
                raise RetriableError(f"{stream}: {describe(exc)}") from exc
            if on_retry is not None:
                on_retry(exc)
            call.policy.wait(attempt, exc)


@contextmanager
def open_inventory(
    services: StreamServices,
    path: str,
    *,
    stream: str,
    scope: ScopeNeed,
    params: Mapping[str, str] | None = None,
) -> Iterator[DeadlineReader]:
    """GET `/api/v2/{path}` and give its body unread, for a body too big to hold.

    Opening is retried like `fetch`; a body that breaks off later fails (BodyError),
    since its first records are already out.
    """
    call = _call(services, path, stream=stream, scope=scope, params=params)
    attempt = 0
    while True:
        attempt += 1
        opened = ExitStack()
        try:
            body = opened.enter_context(open_body(call.request, call.exchange, call.rules))
        except FETCH_FAILURES as exc:
            opened.close()
            if attempt >= call.max_attempts:
                raise RetriableError(f"{stream}: {describe(exc)}") from exc
            call.policy.wait(attempt, exc)
            continue
        with opened:
            yield body
        return


def _read_all(body: DeadlineReader) -> bytes:
    try:
        return body.read(-1)
    except DeadlineExceededError:
        raise
    except Exception as exc:  # urllib3 raises several types for a cut body
        raise BodyError(f"the connection broke ({type(exc).__name__})") from exc


def _missing_scope(stream: str, scope: ScopeNeed, message: str) -> None:
    raise SkipPartitionError(
        f"The credential lacks the {scope.label} scope (HTTP 403: {message}); grant it (or "
        f"`all:read`) to read {stream}."
    )


def _hidden(stream: str, scope: ScopeNeed, message: str) -> None:
    raise HiddenEndpointError(stream, scope, message)


def not_found_verdict(
    services: StreamServices, tailnet: str, exc: HiddenEndpointError
) -> SkipPartitionError | ApiRequestError:
    """A hidden endpoint's 404: a skip when the tailnet exists, else an error.

    Whether it exists is asked once per run and tailnet (see `tailnet_exists`).
    """
    checks = services.tailnet_checks
    if tailnet not in checks:
        checks[tailnet] = tailnet_exists(
            tailnet, services.settings, services.session(), services.authenticator()
        )
    if checks[tailnet] is False:
        return ApiRequestError(
            f"{exc.stream}: the API answered HTTP 404 ({exc.message}) and does not know "
            f"tailnet {tailnet}; check the tailnet setting."
        )
    unsure = "" if checks[tailnet] else " (or the tailnet does not exist: it could not be told)"
    return SkipPartitionError(
        f"The credential lacks the {exc.scope.label} scope (HTTP 404: {exc.message}: the API "
        f"hides {exc.stream} without it){unsure}; grant it (or `all:read`) to read "
        f"{exc.stream}."
    )
