"""The real name of the tailnet behind `-` (the credential's own tailnet).

Records named `-` are useless once two tailnets share a warehouse. The live
configuration log's body names its tailnet `tailnetId` (the spec says `tailnet`; both
are read), before its `logs`, so the configuration streams (which sync first) learn it
from the head of their first body at no cost. A body that names it only after its
`logs` (JSON objects have no key order) cannot be waited for without holding it, so
the name is then asked for once, with a one-second window, before the first record; so
does a run without the configuration streams. State partitions keep the configured
value, so bookmarks stay where they were.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests

from tap_tailscale.request import ResponseRules, api_message, check_response, refuses_tailnet, send
from tap_tailscale.timeutil import floor_to_second, format_query_time, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import datetime

    from tap_tailscale.auth import TailscaleAuthenticator
    from tap_tailscale.settings import Settings

logger = logging.getLogger(__name__)

OWN_TAILNET = "-"


def resolve_tailnet_names(
    tailnets: Iterable[str],
    settings: Settings,
    session: requests.Session,
    authenticator: TailscaleAuthenticator,
) -> dict[str, str]:
    """Map each `-` to the tailnet name the API reports; others map to themselves."""
    names = {}
    for tailnet in tailnets:
        resolved = None
        if tailnet == OWN_TAILNET:
            resolved = ask_tailnet_name(tailnet, settings, session, authenticator)
        names[tailnet] = resolved or tailnet
    return names


def _one_second(
    tailnet: str, settings: Settings, end: datetime | None = None
) -> requests.PreparedRequest:
    # The smallest request about a tailnet: its configuration log over one second.
    end = end or floor_to_second(utc_now() - settings.lag)
    return requests.Request(
        "GET",
        f"{settings.api_url}/api/v2/tailnet/{tailnet}/logging/configuration",
        params={
            "start": format_query_time(end - timedelta(seconds=1)),
            "end": format_query_time(end),
            # The configured filters too: every configuration request carries them.
            **settings.configuration_filters,
        },
    ).prepare()


def tailnet_exists(
    tailnet: str,
    settings: Settings,
    session: requests.Session,
    authenticator: TailscaleAuthenticator,
) -> bool | None:
    """Whether the API knows the tailnet (for this credential); None when it cannot tell.

    `-` is the credential's own tailnet, so it always exists. Any other is asked for its
    configuration log over one second: the request the tap is made for, a tiny body, and
    an endpoint that refuses a missing scope with 403, not 404. 200, or a 403 about
    permissions, means the API found the tailnet; 404, or a 403 saying the tailnet does
    not match the credential, means it did not.
    """
    if tailnet == OWN_TAILNET:
        return True
    try:
        request = _one_second(tailnet, settings)
        with send(session, request, authenticator, timeout=settings.request_timeout) as answer:
            status = answer.status_code
            message = api_message(answer, ()) if status >= 400 else ""
    except requests.exceptions.RequestException as exc:
        logger.debug("Could not check tailnet %s: %s", tailnet, type(exc).__name__)
        return None
    if status < 300 or (status == 403 and not refuses_tailnet(message)):
        return True
    if status in {403, 404}:
        return False
    return None


def ask_tailnet_name(
    tailnet: str,
    settings: Settings,
    session: requests.Session,
    authenticator: TailscaleAuthenticator,
    end: datetime | None = None,
) -> str | None:
    """The name the configuration log reports for `tailnet`, from the second before `end`.

    `end` defaults to now (less the lag). A window's own second keeps a recorded run
    replayable; the answer is small and parsed whole, so the name may be anywhere in it.
    """
    request = _one_second(tailnet, settings, end)
    try:
        with send(session, request, authenticator, timeout=settings.request_timeout) as answer:
            if answer.status_code == 401:
                # A rejected credential fails the run now, with the API's own message.
                check_response(answer, _rules(settings))
            if answer.status_code != 200:
                return None
            text = b"".join(_limited(answer.iter_content(64 * 1024), _ASK_MAX_BYTES))
            body = json.loads(text)
    except (requests.exceptions.RequestException, ValueError) as exc:
        # The name is a convenience; without it records keep the configured value.
        logger.debug("Could not resolve tailnet %s: %s", tailnet, type(exc).__name__)
        return None
    return envelope_name(body)


# A one-second window holds a handful of events; a bigger answer is not worth holding.
_ASK_MAX_BYTES = 1024 * 1024


def _limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """The chunks, or ValueError once they pass `limit` bytes in all."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ValueError(f"the answer passed {limit} bytes")
        yield chunk


def envelope_name(body: Any) -> str | None:
    """The tailnet a log body's envelope names: `tailnetId` (live) or `tailnet` (spec)."""
    if not isinstance(body, dict):
        return None
    for key in _NAME_KEYS:
        name = body.get(key)
        if isinstance(name, str) and name:
            return name
    return None


def _rules(settings: Settings) -> ResponseRules:
    return ResponseRules(
        stream="tap-tailscale",
        api_url=settings.api_url,
        can_shrink=False,
        max_body_bytes=None,
        on_forbidden=lambda _message: None,
        secrets=list,
    )


_NAME_KEYS = ("tailnetId", "tailnet")
# Only the envelope's own keys are searched: the head is cut at `"logs"` first.
_NAME = re.compile(rb'"tailnet(?:Id)?"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HEAD_BYTES = 4096


class NameSniffer:
    """A body reader that reports the tailnet named in the body's head.

    When the head names none (the name comes after `logs`, or not at all), `ask` is
    called once, before the first block is handed on, and its answer reported.
    """

    def __init__(
        self,
        body: Any,
        found: Callable[[str], None],
        ask: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._body = body
        self._found: Callable[[str], None] | None = found
        self._ask = ask
        self._head = b""

    def read(self, size: int = -1, decode_content: bool = True) -> bytes:
        """Read from the body; the head, up to `"logs"`, is searched for the tailnet's name."""
        try:
            chunk = bytes(self._body.read(size, decode_content=decode_content))
        except TypeError:  # a plain file (a spooled or replayed body)
            chunk = bytes(self._body.read(size))
        if self._found is not None:
            self._head += chunk[: _HEAD_BYTES - len(self._head)]
            if b'"logs"' in self._head or len(self._head) >= _HEAD_BYTES or not chunk:
                self._decide(self._head.split(b'"logs"', 1)[0])
        return chunk

    def _decide(self, head: bytes) -> None:
        found, self._found = self._found, None
        match = _NAME.search(head)
        name = None
        if match:
            with contextlib.suppress(ValueError):
                name = json.loads(b'"' + match.group(1) + b'"')
        if not name:
            name = self._ask()
        if name and found is not None:
            found(name)
