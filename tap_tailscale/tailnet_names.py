"""The real name of the tailnet behind `-` (the credential's own tailnet).

Records named `-` are useless once two tailnets share a warehouse. The configuration
log's body names its tailnet before its `logs`, so the configuration streams (which
sync first) learn it from the head of their first body at no cost; a run without them
asks once, with a one-second window. State partitions keep the configured value, so
bookmarks stay where they were.
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
    from collections.abc import Callable, Iterable

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
            resolved = _ask(tailnet, settings, session, authenticator)
        names[tailnet] = resolved or tailnet
    return names


def _one_second(tailnet: str, settings: Settings) -> requests.PreparedRequest:
    # The smallest request about a tailnet: its configuration log over one second.
    end = floor_to_second(utc_now() - settings.lag)
    return requests.Request(
        "GET",
        f"{settings.api_url}/api/v2/tailnet/{tailnet}/logging/configuration",
        params={
            "start": format_query_time(end - timedelta(seconds=1)),
            "end": format_query_time(end),
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


def _ask(
    tailnet: str,
    settings: Settings,
    session: requests.Session,
    authenticator: TailscaleAuthenticator,
) -> str | None:
    request = _one_second(tailnet, settings)
    try:
        with send(session, request, authenticator, timeout=settings.request_timeout) as answer:
            if answer.status_code == 401:
                # A rejected credential fails the run now, with the API's own message.
                check_response(answer, _rules(settings))
            if answer.status_code != 200:
                return None
            body = answer.json()
    except (requests.exceptions.RequestException, ValueError) as exc:
        # The name is a convenience; without it records keep the configured value.
        logger.debug("Could not resolve tailnet %s: %s", tailnet, type(exc).__name__)
        return None
    name = body.get("tailnet") if isinstance(body, dict) else None
    return name if isinstance(name, str) and name else None


def _rules(settings: Settings) -> ResponseRules:
    return ResponseRules(
        stream="tap-tailscale",
        api_url=settings.api_url,
        can_shrink=False,
        max_body_bytes=None,
        on_forbidden=lambda _message: None,
        secrets=list,
    )


_NAME = re.compile(rb'"tailnet"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HEAD_BYTES = 4096


class NameSniffer:
    """A body reader that reports the `tailnet` field found in the body's head."""

    def __init__(self, body: Any, found: Callable[[str], None]) -> None:
        self._body = body
        self._found: Callable[[str], None] | None = found

    def read(self, size: int = -1, decode_content: bool = True) -> bytes:
        """Read from the body; the first block is searched for the tailnet's name."""
        try:
            chunk = bytes(self._body.read(size, decode_content=decode_content))
        except TypeError:  # a plain file (a spooled or replayed body)
            chunk = bytes(self._body.read(size))
        if self._found is not None:
            head = chunk[:_HEAD_BYTES].split(b'"logs"', 1)[0]
            match = _NAME.search(head)
            if match:
                with contextlib.suppress(ValueError):
                    self._found(json.loads(b'"' + match.group(1) + b'"'))
            self._found = None
        return chunk
