"""Every error the tap raises, in four kinds; its one-line description; secret redaction.

The kinds say what the caller does next:

- `RetryableError`: another attempt at the same request or window may pass.
- `ShrinkableError`: the window failed in a way half of it may avoid.
- `SkipError`: this partition (or entry) cannot be read; it is counted, the run goes on.
- `FatalError`: a failure the user can fix (`TailscaleUserError`). It reaches the console
  as one line with no traceback (see `tap_tailscale.tap.main`) and the exit is non-zero,
  so its message must say what to do.

The catch-tuples used in more than one place are defined here once. The policy package
keeps its own `PolicyParseError`: it is pure and imports nothing of the tap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_tailscale.scopes import ScopeNeed

REDACTED = "[redacted]"

# Tailscale credentials and bearer tokens have recognisable shapes; scrub them even
# when the exact value is not known (for example a token minted mid-run).
_CREDENTIAL_PATTERNS = (
    re.compile(r"tskey-[A-Za-z0-9]+-[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(authorization:\s*(?:basic|bearer)\s+)\S+"),
    re.compile(r"(?i)(\"?access_token\"?\s*[:=]\s*\"?)[^\"\s,}]+"),
    # An invite link works as a bearer link: its last segment is the token.
    re.compile(r'("inviteUrl"\s*:\s*"[^"]*/)[^"/]+'),
)


# --- The four kinds ---------------------------------------------------------------


class RetryableError(Exception):
    """Kind: one attempt failed in a way a later attempt may not."""


class ShrinkableError(Exception):
    """Kind: the window failed in a way a smaller window avoids."""


class SkipError(Exception):
    """Kind: this partition or entry cannot be read; it is counted and the run goes on."""


class FatalError(Exception):
    """Kind: the run cannot do what was asked; it exits non-zero."""


# --- Retryable ----------------------------------------------------------------------


class RetriableError(RetryableError):
    """One attempt failed in a way a later attempt may not (429, 5xx, reset, broken body)."""

    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.response = response

    @property
    def is_rate_limit(self) -> bool:
        """True for HTTP 429, which also slows read-ahead down."""
        return self.response is not None and self.response.status_code == 429


class BodyError(RetryableError):
    """The body broke off, was not JSON, or had the wrong shape. The window is re-read."""


class MissingLogsError(BodyError):
    """The body's envelope has no `logs` key at all.

    The live API sends `"logs": null` for an empty window, so a body without the key is
    not an empty window but an answer the tap does not understand: the window is read
    again, not passed over, and the body is counted in the run summary.
    """


class ResponseTooLargeError(BodyError):
    """The body grew past `max_response_bytes`. The window is split instead.

    A BodyError (so every reader that re-reads a broken body re-reads this one), which
    the window runner treats as shrinkable when it can still halve the window.
    """


class MalformedJSONError(RetryableError):
    """The stream broke off or is not valid JSON here."""


class ReadAheadCancelledError(RetryableError):
    """A window read ahead was discarded before its body was fully copied."""


# --- Shrinkable ---------------------------------------------------------------------


class WindowTooLargeError(ShrinkableError):
    """The window failed in a way a smaller window avoids (502, 504, timeout, size)."""


class DeadlineExceededError(ShrinkableError, requests.exceptions.Timeout):
    """The request ran past `request_deadline_seconds` (a server that drips its body)."""


# --- Skip ---------------------------------------------------------------------------


class SkipPartitionError(SkipError):
    """This (stream, tailnet) cannot be read, but the run goes on (a warning)."""


class HiddenEndpointError(SkipError):
    """404 `not found` from an endpoint the live API hides without its scope: either the
    scope is missing or the tailnet does not exist (see `not_found_verdict`)."""

    def __init__(self, stream: str, scope: ScopeNeed, message: str) -> None:
        super().__init__(f"{stream}: HTTP 404: {message}")
        self.stream = stream
        self.scope = scope
        self.message = message


class RejectedEntryError(SkipError, ValueError):
    """An API entry that cannot become a valid record. The message says why."""

    def __init__(self, reason: str, key: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


class InvalidTimestampError(SkipError, ValueError):
    """A value that should be an RFC 3339 timestamp is not one (its entry is rejected)."""


# --- Fatal: errors the user can act on ----------------------------------------------


class TailscaleUserError(FatalError):
    """A failure the user can fix. The message is one line that says how."""

    exit_code = 2


class ConfigError(TailscaleUserError):
    """The settings are missing, contradictory or malformed."""


class AuthenticationError(TailscaleUserError):
    """The API rejected the credential (HTTP 401) or a token could not be obtained."""


class MissingScopeError(TailscaleUserError):
    """The credential lacks a scope (HTTP 403)."""


class FlowLogsUnavailableError(TailscaleUserError):
    """Network flow logs are not on the tailnet's plan, or are switched off (HTTP 403)."""


class ApiRequestError(TailscaleUserError):
    """The API refused the request itself (HTTP 400 or 404)."""


class TailnetRefusedError(ApiRequestError):
    """The API refused the tailnet: it is not the credential's, or does not exist (403)."""


class TailnetNotFoundError(ApiRequestError):
    """The API answered 404 about the tailnet itself: it does not know it."""


class StreamHaltedError(TailscaleUserError):
    """One or more streams stopped early; the others finished. Raised after the sync."""

    exit_code = 3


class MissingRecordingError(requests.exceptions.ConnectionError, TailscaleUserError):
    """Replay has no recorded response for a request.

    A ConnectionError, as a request that cannot be answered is one; also a user error, so
    the tap's failure reports show this message rather than a bare exception type.
    """


KINDS = (RetryableError, ShrinkableError, SkipError, FatalError)

# --- Catch-tuples that mean the same thing wherever they are caught ------------------

#: The API refused this tailnet's request: the tailnet fails, the others go on.
TAILNET_FAILURES = (ApiRequestError, MissingScopeError)
#: The API answered, but not usefully, after every retry (an HTTP error or a broken body).
ANSWER_FAILURES = (RetriableError, BodyError)
#: A fetch that failed after its retries: a useless answer, or no connection at all.
FETCH_FAILURES = (*ANSWER_FAILURES, requests.exceptions.RequestException)
#: Failures another attempt at the same window may not meet (the window runner retries).
RETRIABLE = (*FETCH_FAILURES, ConnectionError)
#: This partition stops, but the run goes on: skipped, or a user error said once.
PARTITION_STOPS = (SkipPartitionError, TailscaleUserError)
#: Anything that ends one inventory partition early (a listing that cannot finish).
PARTITION_FAILURES = (*PARTITION_STOPS, *ANSWER_FAILURES)


def describe(error: BaseException | None) -> str:
    """A short, secret-free description of a failure."""
    if error is None:
        return "unknown error"
    for cause in (error, error.__cause__):
        if isinstance(cause, DeadlineExceededError):
            return str(cause)
    if isinstance(error, RetriableError | BodyError | WindowTooLargeError):
        return str(error)
    name = type(error).__name__
    if isinstance(error, requests.exceptions.Timeout):
        return f"timeout ({name})"
    if isinstance(error, requests.exceptions.ConnectionError | ConnectionError):
        return f"connection failed ({name})"
    return name


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` with every known secret and every credential-shaped string removed."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(
            lambda m: (m.group(1) if m.groups() else "") + REDACTED,
            text,
        )
    return text
