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
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tap_tailscale.errors import (
    FETCH_FAILURES,
    ApiRequestError,
    MissingScopeError,
    TailnetNotFoundError,
    TailnetRefusedError,
    WindowTooLargeError,
    describe,
)
from tap_tailscale.timeutil import floor_to_second, format_query_time, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from concurrent.futures import Future
    from datetime import datetime

    from tap_tailscale.client import TailscaleClient
    from tap_tailscale.settings import Settings

logger = logging.getLogger(__name__)

OWN_TAILNET = "-"


def _one_second(settings: Settings, end: datetime | None = None) -> dict[str, Any]:
    # The smallest question about a tailnet: its configuration log over one second.
    end = end or floor_to_second(utc_now() - settings.lag)
    return {
        "start": format_query_time(end - timedelta(seconds=1)),
        "end": format_query_time(end),
        # The configured filters too: every configuration request carries them.
        **settings.configuration_filters,
    }


def _not_found(message: str) -> None:
    raise TailnetNotFoundError(message)


def tailnet_exists(tailnet: str, client: TailscaleClient) -> bool | None:
    """Whether the API knows the tailnet (for this credential); None when it cannot tell.

    `-` is the credential's own tailnet, so it always exists. Any other is asked for its
    configuration log over one second: the request the tap is made for, a tiny body, and
    an endpoint that refuses a missing scope with 403, not 404. 200, or a 403 about
    permissions, means the API found the tailnet; 404, or a 403 saying the tailnet does
    not match the credential, means it did not. The request is the client's, retries
    and all.
    """
    if tailnet == OWN_TAILNET:
        return True
    # A 403 about permissions is the rules' MissingScopeError: the API found the tailnet.
    rules = client.rules("tap-tailscale", on_not_found=_not_found)
    try:
        client.get(_log_path(tailnet), rules, params=_one_second(client.settings))
    except MissingScopeError:
        return True
    except (TailnetNotFoundError, TailnetRefusedError):
        return False
    except (*FETCH_FAILURES, ApiRequestError) as exc:
        logger.info("Could not tell whether tailnet %s exists: %s", tailnet, describe(exc))
        return None
    return True


def _log_path(tailnet: str) -> str:
    return f"tailnet/{tailnet}/logging/configuration"


def ask_tailnet_name(
    tailnet: str, client: TailscaleClient, end: datetime | None = None
) -> str | None:
    """The name the configuration log reports for `tailnet`, from the second before `end`.

    `end` defaults to now (less the lag). A window's own second keeps a recorded run
    replayable; the answer is small and parsed whole, so the name may be anywhere in it.
    A rejected credential fails the run now, with the API's own message; any other
    failure (after the client's retries) leaves the configured value, said in the log.
    """
    rules = client.rules("tap-tailscale", max_body_bytes=_ASK_MAX_BYTES)
    try:
        answer = client.get(_log_path(tailnet), rules, params=_one_second(client.settings, end))
        body = answer.json()
    except (*FETCH_FAILURES, ApiRequestError, MissingScopeError, WindowTooLargeError) as exc:
        # The name is a convenience; without it records keep the configured value.
        logger.info(
            "Could not learn the name of tailnet %s (%s); records carry %s.",
            tailnet,
            describe(exc),
            tailnet,
        )
        return None
    return envelope_name(body)


# A one-second window holds a handful of events; a bigger answer is not worth holding.
_ASK_MAX_BYTES = 1024 * 1024


class TailnetNames:
    """The name records carry for each configured tailnet, and whether each exists.

    `-` is learned from the head of the first configuration body (NameSniffer), or
    asked for once; other tailnets keep their configured value. Shared by every stream
    and the read-ahead threads, so its state is behind one lock.
    """

    def __init__(self, client: TailscaleClient) -> None:
        self._client = client
        self._names: dict[str, str] = {}
        self._asked: set[str] = set()
        self._exists: dict[str, bool | None] = {}
        self._on_the_way: Future[dict[str, str]] | None = None
        self._lock = threading.RLock()

    def name_of(self, tailnet: str) -> str:
        """The name records carry for a configured tailnet (waits for one on the way)."""
        with self._lock:
            on_the_way, self._on_the_way = self._on_the_way, None
        if on_the_way is not None:
            names = on_the_way.result()
            with self._lock:
                self._names.update(names)
        with self._lock:
            return self._names.get(tailnet, tailnet)

    def learned(self, tailnet: str, name: str) -> None:
        """Keep the name a body reported for `tailnet`."""
        with self._lock:
            self._names[tailnet] = name

    def sniffing(self, body: Any, tailnet: str, end: datetime) -> Any:
        """The body, reporting `-`'s name from its head; asks once if the head has none.

        Any other tailnet, or one whose name is known or was asked for, gets the body as
        it is. `end` is the second the ask covers (the window's first), for replay.
        """
        with self._lock:
            if tailnet != OWN_TAILNET or tailnet in self._names or tailnet in self._asked:
                return body

        def ask() -> str | None:
            with self._lock:
                self._asked.add(tailnet)
            return ask_tailnet_name(tailnet, self._client, end=end)

        return NameSniffer(body, lambda name: self.learned(tailnet, name), ask)

    def resolve(self, tailnets: Iterable[str], *, in_background: bool = False) -> None:
        """Ask for the name of each `-`, now or beside the first windows' requests.

        In the background the answer is waited for only when a record needs the name:
        under API latency it would otherwise delay every run by one round trip.
        """
        wanted = [t for t in tailnets if t == OWN_TAILNET]

        def ask() -> dict[str, str]:
            names = {}
            for tailnet in wanted:
                with self._lock:
                    self._asked.add(tailnet)
                names[tailnet] = ask_tailnet_name(tailnet, self._client) or tailnet
            return names

        if not in_background:
            found = ask()
            with self._lock:
                self._names.update(found)
            return
        asker = ThreadPoolExecutor(1, thread_name_prefix="tailnet-name")
        with self._lock:
            self._on_the_way = asker.submit(ask)
        asker.shutdown(wait=False)

    def exists(self, tailnet: str) -> bool | None:
        """Whether the API knows `tailnet`, asked once per run (see `tailnet_exists`)."""
        with self._lock:
            if tailnet in self._exists:
                return self._exists[tailnet]
        found = tailnet_exists(tailnet, self._client)
        with self._lock:
            return self._exists.setdefault(tailnet, found)


def envelope_name(body: Any) -> str | None:
    """The tailnet a log body's envelope names: `tailnetId` (live) or `tailnet` (spec)."""
    if not isinstance(body, dict):
        return None
    for key in _NAME_KEYS:
        name = body.get(key)
        if isinstance(name, str) and name:
            return name
    return None


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
