"""One API request: sending it, bounding it in time, and mapping its status to an error.

Every response goes through `check_response`, whose table is the one place that says
what a status means to the tap: retry, split the window, skip the partition, or stop
with one line for the user.
"""

from __future__ import annotations

import re
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from tap_tailscale.errors import (
    ApiRequestError,
    AuthenticationError,
    DeadlineExceededError,
    ResponseTooLargeError,
    RetriableError,
    TailnetRefusedError,
    WindowTooLargeError,
    redact,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_tailscale.client.auth import TailscaleAuthenticator

# A window is halved when it fails in a way a smaller window would avoid.
SHRINK_STATUSES = frozenset((502, 504))
# The live API's 403 for a tailnet the credential does not belong to (or that does not
# exist): "user tailnet does not match", earlier "unknown tailnet".
_TAILNET_REFUSED = re.compile(r"tailnet does not match|unknown tailnet", re.IGNORECASE)


def refuses_tailnet(message: str) -> bool:
    """Whether an API error message says the tailnet is not the credential's."""
    return bool(_TAILNET_REFUSED.search(message))


def api_message(response: requests.Response, secrets: Iterable[str]) -> str:
    """The API's own `message`, or the start of the body, with secrets removed."""
    try:
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    if not message:
        message = (response.text or response.reason or "no details").strip()[:200]
    return redact(" ".join(str(message).split()), secrets)


@dataclass(frozen=True)
class ResponseRules:
    """What a stream decides about its responses."""

    stream: str
    api_url: str
    can_shrink: bool
    max_body_bytes: int | None
    on_forbidden: Callable[[str], None]
    secrets: Callable[[], list[str]]
    #: Called with the message of a 404 before it becomes an `ApiRequestError`.
    on_not_found: Callable[[str], None] | None = None


def check_response(response: requests.Response, rules: ResponseRules) -> None:
    """Return if the response can be read; otherwise raise the error its status means."""
    status = response.status_code
    if status < 300:
        declared = response.headers.get("Content-Length")
        if rules.max_body_bytes is not None and declared and int(declared) > rules.max_body_bytes:
            raise WindowTooLargeError(f"a {int(declared):,}-byte body")
        return
    if status < 400:
        raise ApiRequestError(
            f"{rules.stream}: the API answered HTTP {status} (a redirect) for "
            f"{rules.api_url}; check api_url."
        )
    message = api_message(response, rules.secrets())
    if status == 401:
        raise AuthenticationError(
            f"Tailscale rejected the credential (HTTP 401: {message}). The API key or "
            "OAuth client is wrong, expired or revoked: create a new one in the admin "
            "console and update the tap's settings."
        )
    if status == 403 and refuses_tailnet(message):
        raise TailnetRefusedError(
            f"{rules.stream}: the API refused the tailnet (HTTP 403: {message}); check the "
            "tailnet setting: `-` (the credential's own), the tailnet ID or the legacy name."
        )
    if status == 403:
        rules.on_forbidden(message)
    if status == 404 and rules.on_not_found is not None:
        rules.on_not_found(message)
    if status in SHRINK_STATUSES and rules.can_shrink:
        raise WindowTooLargeError(f"HTTP {status}")
    if status == 429 or status >= 500:
        raise RetriableError(f"HTTP {status}: {message}", response)
    hint = (
        "check the tailnet setting (and that api_url is the API's base URL)"
        if status == 404
        else "check the settings"
    )
    raise ApiRequestError(
        f"{rules.stream}: the API refused the request (HTTP {status}: {message}); {hint}."
    )


def send(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    authenticator: TailscaleAuthenticator,
    *,
    timeout: float,
) -> requests.Response:
    """Send one request; on a 401, refresh the token once and send it again.

    An access token can die early (revoked, clock skew). The second answer is returned
    as it is, so a 401 after the refresh keeps the server's own message.
    """
    response = session.send(
        authenticator(prepared), timeout=timeout, allow_redirects=False, stream=True
    )
    if response.status_code == 401 and authenticator.force_refresh():
        response.close()
        response = session.send(
            authenticator(prepared), timeout=timeout, allow_redirects=False, stream=True
        )
    return response


class DeadlineReader:
    """The raw body, read in full blocks, that fails once the request's deadline passes
    or once it passes `max_bytes`.

    Each socket read is bounded by the read timeout, but a server that sends a byte a
    second never trips it. Reading with `read1` returns whatever has arrived, so the
    deadline is checked between the socket's reads, however slowly they come. The size
    limit is the one place `max_response_bytes` is enforced on a body that streams
    (check_response refuses a declared Content-Length over it before any read).
    """

    def __init__(
        self,
        raw: Any,
        deadline: float,
        clock: Callable[[], float],
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.headers = headers or {}
        self._raw = raw
        self._deadline = deadline
        self._clock = clock
        self._read1 = getattr(raw, "read1", None)
        self._max_bytes = max_bytes
        self._total = 0

    def read(self, size: int = -1, decode_content: bool = True) -> bytes:
        """Up to `size` bytes (all when negative); fewer only at the end of the body."""
        data = self._read(size, decode_content)
        self._total += len(data)
        if self._max_bytes is not None and self._total > self._max_bytes:
            raise ResponseTooLargeError(
                f"body passed max_response_bytes ({self._max_bytes:,} bytes)"
            )
        return data

    def _read(self, size: int, decode_content: bool) -> bytes:
        if self._read1 is None:  # a replayed body: a plain file
            return bytes(self._raw.read(size))
        chunks: list[bytes] = []
        wanted = size if size >= 0 else None
        got = 0
        while wanted is None or got < wanted:
            if self._clock() > self._deadline:
                raise DeadlineExceededError("the request ran past request_deadline_seconds")
            chunk = self._read1(
                None if wanted is None else wanted - got, decode_content=decode_content
            )
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


@dataclass(frozen=True)
class Exchange:
    """Everything one window's request needs besides the request itself."""

    session: requests.Session
    authenticator: TailscaleAuthenticator
    timeout: float
    deadline_seconds: float
    clock: Callable[[], float]


@contextmanager
def open_body(
    prepared: requests.PreparedRequest, exchange: Exchange, rules: ResponseRules
) -> Iterator[DeadlineReader]:
    """Send the request, check its status, and give its body behind the total deadline."""
    deadline = exchange.clock() + exchange.deadline_seconds
    try:
        response = send(
            exchange.session, prepared, exchange.authenticator, timeout=exchange.timeout
        )
    except requests.exceptions.ReadTimeout as exc:
        if rules.can_shrink:
            raise WindowTooLargeError("a read timeout") from exc
        raise
    with closing(response):
        check_response(response, rules)
        yield DeadlineReader(
            response.raw,
            deadline,
            exchange.clock,
            dict(response.headers),
            max_bytes=rules.max_body_bytes,
        )
