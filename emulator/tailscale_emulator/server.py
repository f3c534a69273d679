"""A loopback HTTP server that behaves like the Tailscale API v2.

It follows the facts in the repository's API references: the two logging endpoints with
RFC 3339 `start`/`end`, the inventory endpoints (devices, users, keys, policy file, DNS),
the posture endpoints (settings, log streaming, webhooks, posture integrations, user
invites, Services, contacts; tailscale_emulator.posture_routes), API-key (Basic or
Bearer) and OAuth (client credentials, token exchange) authentication, scopes, plan
checks, JSON `{"message": ...}` errors, and injectable faults. Log bodies are streamed
with chunked transfer encoding from the lazy `Dataset`, so a window of any size costs
flat memory.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import random
import secrets
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING

from tailscale_emulator.access import Grant, IssuedToken, Reject, RequestLogEntry, api_key_id
from tailscale_emulator.config import DEFAULT_CLIENT_ID, EmulatorConfig, Fault, FaultPlan
from tailscale_emulator.handler import Handler
from tailscale_emulator.planted import dataset_for
from tailscale_emulator.timefmt import to_ns

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tailscale_emulator.dataset import Dataset


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator


class Emulator:
    """The Tailscale API emulator: start it, point a client at `url`, inspect `requests`."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_seconds: float | None = None,
        deny_inventory_scopes: bool | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`latency_seconds` and `deny_inventory_scopes` override the config's fields.

        `sleep(seconds)` serves every wait (latency, the `slow` fault); by default it waits
        on the stop event, so `stop()` cuts a wait short. Tests inject a recorder.
        `clock()` (monotonic seconds) times token expiry; tests share one with the tap.
        """
        self.clock: Callable[[], float] = clock or time.monotonic
        self.config = config if config is not None else EmulatorConfig()
        if latency_seconds is not None:
            self.config.latency_seconds = latency_seconds
        if deny_inventory_scopes is not None:
            self.config.deny_inventory_scopes = deny_inventory_scopes
        self.config.validate()
        self.sleep: Callable[[float], object] = sleep or self._stopping_wait
        self.host = host
        self.requested_port = port
        self.requests: list[RequestLogEntry] = []
        self.token_requests: list[RequestLogEntry] = []
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}
        self._fault_plan: FaultPlan | None = None
        self._fault_counter = 0
        self._dataset = dataset_for(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._peak_in_flight: collections.Counter[str] = collections.Counter()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a background thread. Returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.requested_port), Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            # Wakes handler threads blocked on idle keep-alive connections.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after `start`)."""
        if self._server is None:
            raise RuntimeError("emulator is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:PORT` (the API lives under `/api/v2`)."""
        return f"http://{self.host}:{self.port}"

    # -- inspection ----------------------------------------------------------------------

    @property
    def dataset(self) -> Dataset:
        """The data behind the responses, bound to the current `config`."""
        if self._dataset.settings is not self.config:
            self._dataset = dataset_for(self.config)
        return self._dataset

    @property
    def logging_requests(self) -> list[RequestLogEntry]:
        """Requests to the two logging endpoints only."""
        return [r for r in list(self.requests) if "/logging/" in r.path]

    def reset_log(self) -> None:
        """Forget logged requests and peaks (tokens and fault counters stay)."""
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()
            # Zero, not the current count: a request whose answer the client already has may
            # not have left the server's bookkeeping yet.
            self._peak_in_flight = collections.Counter()

    def request_counts(self) -> collections.Counter[str]:
        """Requests per URL path, e.g. `{"/api/v2/tailnet/-/logging/network": 48}`."""
        return collections.Counter(r.path for r in list(self.requests))

    def window_counts(self, path_suffix: str) -> collections.Counter[tuple[str, str]]:
        """Requests per `(start, end)` query, as sent, for paths ending in `path_suffix`."""
        return collections.Counter(
            (r.query.get("start", [""])[0], r.query.get("end", [""])[0])
            for r in list(self.requests)
            if r.path.endswith(path_suffix)
        )

    def peak_in_flight(self, path_suffix: str = "") -> int:
        """Most requests served at once on paths ending in `path_suffix` (any path if empty)."""
        with self._lock:
            peaks = [n for p, n in self._peak_in_flight.items() if p.endswith(path_suffix)]
        return max(peaks, default=0)

    def issue_token(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        *,
        scopes: tuple[str, ...] | None = None,
        lifetime_seconds: float | None = None,
    ) -> str:
        """Mint an access token for an OAuth client without an HTTP round trip."""
        client = self.config.oauth_clients[client_id]
        return self._issue(
            client_id,
            client.tailnet,
            client.scopes if scopes is None else scopes,
            lifetime_seconds,
        )

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (for tests that scan output for secrets)."""
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self) -> None:
        """Make every issued access token expired, as if its lifetime had passed."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    # -- internals used by the handler ---------------------------------------------------

    def _issue(
        self, client_id: str, tailnet: str, scopes: tuple[str, ...], lifetime: float | None
    ) -> str:
        token = "emulator-at-" + secrets.token_hex(16)
        life = self.config.token_lifetime_seconds if lifetime is None else lifetime
        with self._lock:
            self._tokens[token] = IssuedToken(
                client_id, tailnet, tuple(scopes), self.clock() + life
            )
        return token

    def _record(self, entry: RequestLogEntry, *, token: bool) -> None:
        with self._lock:
            self.requests.append(entry)
            if token:
                self.token_requests.append(entry)

    def _stopping_wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    @contextlib.contextmanager
    def _serving(self, path: str) -> Iterator[None]:
        """Count a request as in flight on `path` while the block runs."""
        with self._lock:
            self._in_flight[path] += 1
            self._peak_in_flight[path] = max(self._peak_in_flight[path], self._in_flight[path])
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[path] -= 1

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _authenticate(self, header: str | None) -> Grant:
        if not header:
            raise Reject(401, "API token invalid")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise Reject(401, "API token invalid") from None
            key = decoded.partition(":")[0]
            cred = self.config.api_keys.get(key)
            if cred is None:
                raise Reject(401, "API token invalid")
            return Grant(
                "basic",
                api_key_id(key, cred),
                cred.tailnet,
                tuple(cred.scopes),
                cred.other_tailnets,
            )
        if scheme == "bearer":
            cred = self.config.api_keys.get(value)
            if cred is not None:
                return Grant(
                    "bearer",
                    api_key_id(value, cred),
                    cred.tailnet,
                    tuple(cred.scopes),
                    cred.other_tailnets,
                )
            with self._lock:
                issued = self._tokens.get(value)
            if issued is None or self.clock() >= issued.expires_at:
                raise Reject(401, "API token invalid")
            return Grant("bearer", issued.client_id, issued.tailnet, issued.scopes)
        raise Reject(401, "API token invalid")

    def _pick_fault(self, path: str, start_ns: int, end_ns: int) -> str | None:
        plan = self.config.faults
        if plan is None or not any(p in path for p in plan.paths):
            return None
        for a, b, kind in plan.windows_always_failing:
            lo, hi = to_ns(a), to_ns(b)
            if max(start_ns, lo) < min(end_ns, hi) or (start_ns == end_ns and lo <= start_ns < hi):
                return str(kind)
        with self._lock:
            if plan is not self._fault_plan:
                self._fault_plan, self._fault_counter = plan, 0
            n = self._fault_counter
            self._fault_counter += 1
        kinds = tuple(str(k) for k in plan.kinds) or (Fault.HTTP_500.value,)
        if plan.first_n > 0:
            return kinds[n % len(kinds)] if n < plan.first_n else None
        if plan.rate <= 0:
            return None
        # Reproducible per request number, independent of thread interleaving.
        rng = random.Random(plan.seed * 1_000_003 + n)  # noqa: S311 - not security
        if rng.random() < plan.rate:
            return kinds[rng.randrange(len(kinds))]
        return None
