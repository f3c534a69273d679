"""A loopback HTTP server that behaves like the Tailscale API v2 logging and OAuth endpoints.

It follows /work/shared/reference/tailscale-api.md: `GET .../logging/configuration` and
`.../logging/network` with RFC 3339 `start`/`end`, API-key (Basic or Bearer) and OAuth
(client credentials, token exchange) authentication, scopes, plan checks, JSON
`{"message": ...}` errors, and injectable faults. Log bodies are streamed with chunked
transfer encoding from the lazy `Dataset`, so a window of any size costs flat memory.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import itertools
import math
import random
import re
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from enum import StrEnum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from tap_tailscale.emulator.dataset import (
    CONFIG_VERSION,
    EVENT_TYPE_SET,
    NS_PER_SECOND,
    ConfigFilter,
    Dataset,
    TailnetConfig,
    parse_rfc3339_ns,
    to_ns,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

DEFAULT_API_KEY = "emulator-demo-key"
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - a fixture, not a secret
DEFAULT_FEDERATED_CLIENT_ID = "emulator-federated-client"

CONFIG_SCOPE = "logs:configuration:read"
NETWORK_SCOPE = "logs:network:read"
# Scope names Tailscale documents for trust credentials; anything else is a 400.
KNOWN_SCOPES = frozenset(
    {"all", "all:read"}
    | {
        f"{name}{suffix}"
        for name in (
            "account_settings",
            "auth_keys",
            "devices:core",
            "devices:posture_attributes",
            "devices:routing",
            "dns",
            "feature_settings",
            "log_streaming",
            "logs:configuration",
            "logs:network",
            "oauth_keys",
            "policy_file",
            "services",
            "users",
            "webhooks",
        )
        for suffix in ("", ":read")
    }
)

_LOGGING_PATH = re.compile(r"/api/v2/tailnet/([^/]+)/logging/(configuration|network)/?")
_TOKEN_PATH = "/api/v2/oauth/token"  # noqa: S105 - a URL path
_EXCHANGE_PATH = "/api/v2/oauth/token-exchange"
_CHUNK_BYTES = 256 * 1024
_BATCH_ENTRIES = 512


def _now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _default_start() -> datetime:
    return _now_minute() - timedelta(days=3)


# --------------------------------------------------------------------------- config


class Fault(StrEnum):
    """Fault kinds a `FaultPlan` can inject (plain strings work too)."""

    HTTP_429 = "429"
    HTTP_429_RETRY_AFTER = "429-retry-after"
    HTTP_429_RETRY_AFTER_DATE = "429-retry-after-date"
    HTTP_500 = "500"
    HTTP_502 = "502"
    HTTP_503 = "503"
    HTTP_504 = "504"
    RESET = "reset"
    SLOW = "slow"
    TRUNCATED = "truncated"
    BAD_JSON = "bad-json"
    LOGS_NOT_ARRAY = "logs-not-array"


FAULT_KINDS = frozenset(f.value for f in Fault)


@dataclass
class FaultPlan:
    """Which logging requests fail and how.

    `first_n > 0`: the first N matching requests fail, cycling through `kinds`, then none.
    Otherwise each matching request fails with probability `rate`, decided by an RNG seeded
    from `(seed, request counter)` so a run is reproducible. Empty `kinds` means `("500",)`.
    `windows_always_failing` entries `(start, end, kind)` fail every request whose window
    overlaps `[start, end)`, whatever the counter says. A request "matches" when its path
    contains one of `paths` and it is otherwise valid (auth, scope, parameters).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    seed: int = 1
    first_n: int = 0
    paths: tuple[str, ...] = ("logging/configuration", "logging/network")
    windows_always_failing: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    slow_seconds: float = 3.0

    def __post_init__(self) -> None:
        unknown = {str(k) for k in self.kinds} | {str(w[2]) for w in self.windows_always_failing}
        unknown -= FAULT_KINDS
        if unknown:
            raise ValueError(
                f"unknown fault kind(s) {sorted(unknown)}; known: {sorted(FAULT_KINDS)}"
            )


@dataclass
class Credential:
    """An API access token's grants. `name` is what the request log shows for it."""

    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)
    name: str | None = None
    # Further tailnets the credential may read (`-` still means `tailnet`), so one
    # credential can exercise the tap's `tailnets` setting.
    other_tailnets: tuple[str, ...] = ()


@dataclass
class OAuthClient:
    """A trust credential for the client-credentials grant."""

    secret: str
    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)


@dataclass
class FederatedClient:
    """A workload-identity client: accepts a JWT-shaped `jwt` starting with the prefix."""

    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)
    accepted_jwt_prefix: str = "eyJ"


def _default_tailnets() -> dict[str, TailnetConfig]:
    return {"example.com": TailnetConfig()}


def _default_api_keys() -> dict[str, Credential]:
    return {DEFAULT_API_KEY: Credential(name="emulator-demo")}


def _default_oauth_clients() -> dict[str, OAuthClient]:
    return {DEFAULT_CLIENT_ID: OAuthClient(secret=DEFAULT_CLIENT_SECRET)}


def _default_federated_clients() -> dict[str, FederatedClient]:
    return {DEFAULT_FEDERATED_CLIENT_ID: FederatedClient()}


@dataclass
class EmulatorConfig:
    """Everything the emulator does. Tests may change fields while it runs."""

    dataset_start: datetime = field(default_factory=_default_start)
    dataset_end: datetime = field(default_factory=_now_minute)
    tailnets: dict[str, TailnetConfig] = field(default_factory=_default_tailnets)
    api_keys: dict[str, Credential] = field(default_factory=_default_api_keys)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=_default_oauth_clients)
    federated_clients: dict[str, FederatedClient] = field(
        default_factory=_default_federated_clients
    )
    token_lifetime_seconds: float = 3600
    inclusive_end: bool = True
    null_logs_for_empty: bool = True
    faults: FaultPlan | None = None
    seed: int = 7
    max_window_seconds: float | None = None
    max_entries_per_response: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the dataset range (normalising it to UTC); ValueError if unusable."""
        for name in ("dataset_start", "dataset_end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware (UTC)")
            setattr(self, name, value.astimezone(UTC))
        if self.dataset_end < self.dataset_start:
            raise ValueError("dataset_end is before dataset_start")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmulatorConfig:
        """Build from JSON-shaped data (RFC 3339 strings for times, lists for tuples)."""
        return _config_from_dict(data)


def parse_timestamp(value: Any, where: str) -> datetime:
    """An aware datetime from a datetime or an RFC 3339 string; ValueError names `where`."""
    if isinstance(value, datetime):
        return value
    ns = parse_rfc3339_ns(str(value))
    if ns is None:
        raise ValueError(f"{where}: not an RFC 3339 timestamp: {value!r}")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _only_known(data: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")


def _tailnet_from_dict(data: Mapping[str, Any], where: str) -> TailnetConfig:
    _only_known(data, TailnetConfig.__dataclass_fields__, where)
    values = dict(data)
    if "quiet_periods" in values:
        values["quiet_periods"] = [
            (parse_timestamp(a, where), parse_timestamp(b, where))
            for a, b in values["quiet_periods"]
        ]
    return TailnetConfig(**values)


def _with_scopes(data: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if "scopes" in values:
        values["scopes"] = tuple(values["scopes"])
    return values


def _config_from_dict(data: Mapping[str, Any]) -> EmulatorConfig:
    _only_known(data, EmulatorConfig.__dataclass_fields__, "config")
    values: dict[str, Any] = dict(data)
    for name in ("dataset_start", "dataset_end"):
        if name in values:
            values[name] = parse_timestamp(values[name], name)
    if "tailnets" in values:
        values["tailnets"] = {
            n: _tailnet_from_dict(t, f"tailnets.{n}") for n, t in values["tailnets"].items()
        }
    if "api_keys" in values:
        values["api_keys"] = {
            k: Credential(**_with_scopes(c)) for k, c in values["api_keys"].items()
        }
    if "oauth_clients" in values:
        values["oauth_clients"] = {
            k: OAuthClient(**_with_scopes(c)) for k, c in values["oauth_clients"].items()
        }
    if "federated_clients" in values:
        values["federated_clients"] = {
            k: FederatedClient(**_with_scopes(c)) for k, c in values["federated_clients"].items()
        }
    if values.get("faults") is not None:
        faults = dict(values["faults"])
        _only_known(faults, FaultPlan.__dataclass_fields__, "faults")
        for name in ("kinds", "paths"):
            if name in faults:
                faults[name] = tuple(faults[name])
        if "windows_always_failing" in faults:
            faults["windows_always_failing"] = [
                (parse_timestamp(a, "faults"), parse_timestamp(b, "faults"), str(kind))
                for a, b, kind in faults["windows_always_failing"]
            ]
        values["faults"] = FaultPlan(**faults)
    return EmulatorConfig(**values)


# ------------------------------------------------------------------------- request log


@dataclass
class RequestLogEntry:
    """One request as the emulator saw it. Never holds a secret.

    `status` is None when the connection was reset without a response. `bytes_sent` counts
    response body bytes (without chunk framing). `credential_id` names the API key (its
    `Credential.name`, else `api-key:<sha256 prefix>`), OAuth/federated client id, or the
    client behind a bearer token.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None = None
    auth: str | None = None
    credential_id: str | None = None
    fault: str | None = None
    bytes_sent: int = 0
    started_at: float = field(default_factory=time.time)
    duration_seconds: float | None = None


@dataclass
class _Grant:
    """What an authenticated request may do."""

    kind: str
    credential_id: str
    tailnet: str
    scopes: tuple[str, ...]
    other_tailnets: tuple[str, ...] = ()


@dataclass
class _IssuedToken:
    client_id: str
    tailnet: str
    scopes: tuple[str, ...]
    expires_at: float


def api_key_id(key: str, credential: Credential | None = None) -> str:
    """The request-log name of an API key: its credential's name, else a digest prefix."""
    if credential is not None and credential.name:
        return credential.name
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def scope_covers(granted: Iterable[str], needed: str) -> bool:
    """Whether any granted scope implies `needed` (`all`, `all:read`, or write implies read)."""
    for scope in granted:
        if scope in {needed, "all"}:
            return True
        if needed.endswith(":read") and scope in {"all:read", needed.removesuffix(":read")}:
            return True
    return False


class _Reject(Exception):  # noqa: N818 - control flow, not an error condition
    """Answer the current request with a JSON error."""

    def __init__(self, status: int, message: str, fault: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fault = fault


# ----------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator


class Emulator:
    """The Tailscale API emulator: start it, point a client at `url`, inspect `requests`."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.host = host
        self.requested_port = port
        self.requests: list[RequestLogEntry] = []
        self.token_requests: list[RequestLogEntry] = []
        self._lock = threading.Lock()
        self._tokens: dict[str, _IssuedToken] = {}
        self._fault_plan: FaultPlan | None = None
        self._fault_counter = 0
        self._dataset = Dataset(self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind and serve in a background thread. Returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.requested_port), _Handler)
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
            self._dataset = Dataset(self.config)
        return self._dataset

    @property
    def logging_requests(self) -> list[RequestLogEntry]:
        """Requests to the two logging endpoints only."""
        return [r for r in list(self.requests) if "/logging/" in r.path]

    def reset_log(self) -> None:
        """Forget logged requests (tokens and fault counters stay)."""
        with self._lock:
            self.requests.clear()
            self.token_requests.clear()

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
            self._tokens[token] = _IssuedToken(
                client_id, tailnet, tuple(scopes), time.monotonic() + life
            )
        return token

    def _record(self, entry: RequestLogEntry, *, token: bool) -> None:
        with self._lock:
            self.requests.append(entry)
            if token:
                self.token_requests.append(entry)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _authenticate(self, header: str | None) -> _Grant:
        if not header:
            raise _Reject(401, "API token invalid")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise _Reject(401, "API token invalid") from None
            key = decoded.partition(":")[0]
            cred = self.config.api_keys.get(key)
            if cred is None:
                raise _Reject(401, "API token invalid")
            return _Grant(
                "basic",
                api_key_id(key, cred),
                cred.tailnet,
                tuple(cred.scopes),
                cred.other_tailnets,
            )
        if scheme == "bearer":
            cred = self.config.api_keys.get(value)
            if cred is not None:
                return _Grant(
                    "bearer",
                    api_key_id(value, cred),
                    cred.tailnet,
                    tuple(cred.scopes),
                    cred.other_tailnets,
                )
            with self._lock:
                issued = self._tokens.get(value)
            if issued is None or time.monotonic() >= issued.expires_at:
                raise _Reject(401, "API token invalid")
            return _Grant("bearer", issued.client_id, issued.tailnet, issued.scopes)
        raise _Reject(401, "API token invalid")

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


# ---------------------------------------------------------------------------- handler

_FAULT_STATUS = {
    Fault.HTTP_429: (429, "too many requests"),
    Fault.HTTP_429_RETRY_AFTER: (429, "too many requests"),
    Fault.HTTP_429_RETRY_AFTER_DATE: (429, "too many requests"),
    Fault.HTTP_500: (500, "internal server error"),
    Fault.HTTP_502: (502, "unable to communicate with logging server"),
    Fault.HTTP_503: (503, "service unavailable"),
    Fault.HTTP_504: (504, "request took too long to process, please try again later"),
}
_TIMEOUT_MESSAGE = "request took too long to process, please try again later"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tailscale-api-emulator"
    sys_version = ""
    server: _Server
    # Error bodies for parse-level failures the base class reports itself.
    _DEFAULT_MESSAGES: ClassVar[dict[int, str]] = {404: "not found"}

    # -- plumbing ------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle plus delayed ACK
        # stalls every small response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line; `Emulator.requests` is the log."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer protocol-level errors with the same JSON shape as everything else."""
        text = message or self._DEFAULT_MESSAGES.get(code) or HTTPStatus(code).phrase.lower()
        body = orjson.dumps({"message": text})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(
        self,
        entry: RequestLogEntry,
        status: int,
        payload: Any,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        body = orjson.dumps(payload)
        self._finish_entry(entry, status, len(body))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def _finish_entry(entry: RequestLogEntry, status: int | None, sent: int) -> None:
        # Filled in before the last bytes leave, so a client that has its response
        # always sees a complete log entry.
        entry.status = status
        entry.bytes_sent = sent
        entry.duration_seconds = time.time() - entry.started_at

    def _new_entry(self, path: str, query: dict[str, list[str]], *, token: bool) -> RequestLogEntry:
        entry = RequestLogEntry(method=self.command, path=path, query=query)
        self.server.emulator._record(entry, token=token)
        return entry

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Serve the logging endpoints."""
        self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        match = _LOGGING_PATH.fullmatch(split.path)
        if split.path in {_TOKEN_PATH, _EXCHANGE_PATH}:
            entry = self._new_entry(split.path, query, token=True)
            self._send_json(entry, 405, {"message": "method not allowed"}, [("Allow", "POST")])
            return
        entry = self._new_entry(split.path, query, token=False)
        if match is None:
            self._send_json(entry, 404, {"message": "not found"})
            return
        try:
            self._serve_logs(entry, unquote(match.group(1)), match.group(2), query)
        except _Reject as reject:
            entry.fault = reject.fault or entry.fault
            self._send_json(entry, reject.status, {"message": reject.message})
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    def do_POST(self) -> None:
        """Serve the OAuth token endpoints."""
        body = self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if split.path not in {_TOKEN_PATH, _EXCHANGE_PATH}:
            entry = self._new_entry(split.path, query, token=False)
            status, message = (405, "method not allowed")
            if _LOGGING_PATH.fullmatch(split.path) is None:
                status, message = 404, "not found"
            self._send_json(entry, status, {"message": message})
            return
        entry = self._new_entry(split.path, query, token=True)
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        try:
            if split.path == _TOKEN_PATH:
                payload = self._client_credentials(entry, form)
            else:
                payload = self._token_exchange(entry, form)
        except _Reject as reject:
            self._send_json(entry, reject.status, {"message": reject.message})
            return
        self._send_json(entry, 200, payload, [("Cache-Control", "no-store")])

    # -- OAuth ---------------------------------------------------------------------------

    def _client_credentials(
        self, entry: RequestLogEntry, form: dict[str, list[str]]
    ) -> dict[str, Any]:
        emu = self.server.emulator
        grant_type = _first(form, "grant_type")
        client_id, secret = _first(form, "client_id"), _first(form, "client_secret")
        header = self.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            # RFC 6749 §2.3.1: client id and secret are form-encoded inside Basic auth.
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise _Reject(401, "invalid client credentials") from None
            user, _, password = decoded.partition(":")
            client_id, secret = unquote(user.replace("+", " ")), unquote(password.replace("+", " "))
            entry.auth = "basic"
        entry.credential_id = client_id or None
        if grant_type != "client_credentials":
            raise _Reject(400, "unsupported grant_type; use client_credentials")
        client = emu.config.oauth_clients.get(client_id or "")
        if client is None or not hmac.compare_digest(
            client.secret.encode(), (secret or "").encode()
        ):
            raise _Reject(401, "invalid client credentials")
        scopes = _grant_scopes(_first(form, "scope"), client.scopes)
        return _token_payload(emu, client_id or "", client.tailnet, scopes)

    def _token_exchange(self, entry: RequestLogEntry, form: dict[str, list[str]]) -> dict[str, Any]:
        emu = self.server.emulator
        client_id, jwt = _first(form, "client_id") or "", _first(form, "jwt") or ""
        entry.credential_id = client_id or None
        client = emu.config.federated_clients.get(client_id)
        if client is None:
            raise _Reject(401, "invalid client credentials")
        if not jwt.startswith(client.accepted_jwt_prefix) or len(jwt.split(".")) != 3:
            raise _Reject(401, "invalid or untrusted jwt")
        scopes = _grant_scopes(_first(form, "scope"), client.scopes)
        return _token_payload(emu, client_id, client.tailnet, scopes)

    # -- logging -------------------------------------------------------------------------

    def _serve_logs(
        self, entry: RequestLogEntry, tailnet_segment: str, kind: str, query: dict[str, list[str]]
    ) -> None:
        emu = self.server.emulator
        config = emu.config
        tailnet = self._authorize(entry, tailnet_segment, kind)
        start_ns, end_ns = _window(query)
        flt = ConfigFilter()
        if kind == "configuration":
            flt = ConfigFilter(
                tuple(query.get("actor", ())),
                tuple(query.get("target", ())),
                tuple(query.get("event", ())),
            )
            bad = [e for e in flt.event if e not in EVENT_TYPE_SET]
            if bad:
                raise _Reject(400, f"missing or invalid parameter(s): event ({', '.join(bad)})")

        fault = emu._pick_fault(entry.path, start_ns, end_ns)
        entry.fault = fault
        if fault == Fault.SLOW:
            emu._stopping.wait(config.faults.slow_seconds if config.faults else 3.0)
        elif fault is not None and self._answer_fault(entry, fault, kind, tailnet):
            return

        dataset = emu.dataset
        if kind == "configuration":

            def produce() -> Iterator[dict[str, Any]]:
                return dataset.configuration_events_ns(tailnet, start_ns, end_ns, flt)

            prefix = b'{"version":"%s","tailnet":%s,"logs":' % (
                CONFIG_VERSION.encode(),
                orjson.dumps(tailnet),
            )
        else:

            def produce() -> Iterator[dict[str, Any]]:
                return dataset.network_logs_ns(tailnet, start_ns, end_ns)

            prefix = b'{"logs":'

        limit_window = config.max_window_seconds
        if limit_window is not None and end_ns - start_ns > limit_window * NS_PER_SECOND:
            raise _Reject(504, _TIMEOUT_MESSAGE, fault=entry.fault or "max-window")
        limit_entries = config.max_entries_per_response
        if limit_entries is not None:
            found = sum(1 for _ in itertools.islice(produce(), limit_entries + 1))
            if found > limit_entries:
                raise _Reject(504, _TIMEOUT_MESSAGE, fault=entry.fault or "max-entries")

        null_when_empty = config.null_logs_for_empty or (start_ns // NS_PER_SECOND) % 2 == 1
        self._stream(
            entry,
            prefix,
            produce(),
            null_when_empty=null_when_empty,
            truncate=fault == Fault.TRUNCATED,
        )

    def _authorize(self, entry: RequestLogEntry, tailnet_segment: str, kind: str) -> str:
        """Check credential, tailnet, scope and plan (in that order); return the tailnet."""
        emu = self.server.emulator
        grant = emu._authenticate(self.headers.get("Authorization"))
        entry.auth, entry.credential_id = grant.kind, grant.credential_id
        tailnet = grant.tailnet if tailnet_segment == "-" else tailnet_segment
        tailnet_config = emu.config.tailnets.get(tailnet)
        allowed = tailnet == grant.tailnet or tailnet in grant.other_tailnets
        if not allowed or tailnet_config is None:
            raise _Reject(404, "tailnet not found")
        scope = CONFIG_SCOPE if kind == "configuration" else NETWORK_SCOPE
        if not scope_covers(grant.scopes, scope):
            raise _Reject(
                403,
                "calling actor does not have enough permissions to perform this function; "
                f"requires scope {scope}",
            )
        if kind == "network" and not tailnet_config.plan_has_flow_logs:
            raise _Reject(403, "network flow logs are not available on this tailnet's plan")
        if kind == "network" and not tailnet_config.flow_logs_enabled:
            raise _Reject(403, "network flow logging is disabled for this tailnet")
        return tailnet

    def _answer_fault(self, entry: RequestLogEntry, fault: str, kind: str, tailnet: str) -> bool:
        """Send the fault's response; False when the fault only alters a normal answer."""
        if fault == Fault.RESET:
            entry.status = None
            entry.duration_seconds = time.time() - entry.started_at
            # SO_LINGER 0 turns close() into a TCP RST instead of an orderly FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.connection.close()
            return True
        if fault in _FAULT_STATUS:
            status, message = _FAULT_STATUS[Fault(fault)]
            headers: list[tuple[str, str]] = []
            if fault == Fault.HTTP_429_RETRY_AFTER:
                headers.append(("Retry-After", "1"))
            elif fault == Fault.HTTP_429_RETRY_AFTER_DATE:
                # HTTP-dates have whole seconds; rounding up keeps the wait at >= 1 s.
                headers.append(("Retry-After", formatdate(math.ceil(time.time()) + 1, usegmt=True)))
            self._send_json(entry, status, {"message": message}, headers)
            return True
        if fault == Fault.BAD_JSON:
            body = (
                b'{"version":"1.1","tailnet":"%s","logs":[{"eventTime":"2025-03-04T09:12:44Z",'
                % tailnet.encode()
                if kind == "configuration"
                else b'{"logs":[{"logged":"2025-03-04T09:30:06.412985Z","nodeId":}'
            )
            self._send_raw(entry, 200, body)
            return True
        if fault == Fault.LOGS_NOT_ARRAY:
            self._send_raw(entry, 200, b'{"logs": 5}')
            return True
        return False

    def _send_raw(self, entry: RequestLogEntry, status: int, body: bytes) -> None:
        self._finish_entry(entry, status, len(body))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(
        self,
        entry: RequestLogEntry,
        prefix: bytes,
        items: Iterator[dict[str, Any]],
        *,
        null_when_empty: bool,
        truncate: bool,
    ) -> None:
        """Write `prefix + [items...] + }` as chunked JSON, serialising in large batches."""
        first = next(items, None)
        entry.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        chunks = self._body_chunks(prefix, first, items, null_when_empty=null_when_empty)
        write = self.wfile.write
        sent = 0
        if truncate:
            head = next(chunks)
            part = head[: max(1, len(head) // 2)]
            entry.bytes_sent = len(part)
            entry.duration_seconds = time.time() - entry.started_at
            # Announce the full chunk, deliver half, hang up: a body cut off in flight.
            write(b"%X\r\n" % len(head) + part)
            self.close_connection = True
            return
        pending = next(chunks)
        for chunk in chunks:
            write(b"%X\r\n%s\r\n" % (len(pending), pending))
            sent += len(pending)
            pending = chunk
        self._finish_entry(entry, 200, sent + len(pending))
        write(b"%X\r\n%s\r\n0\r\n\r\n" % (len(pending), pending))

    @staticmethod
    def _body_chunks(
        prefix: bytes,
        first: dict[str, Any] | None,
        items: Iterator[dict[str, Any]],
        *,
        null_when_empty: bool,
    ) -> Iterator[bytes]:
        if first is None:
            yield prefix + (b"null}" if null_when_empty else b"[]}")
            return
        buf = bytearray(prefix)
        buf += b"["
        batch = [first]
        comma = False
        for item in items:
            batch.append(item)
            if len(batch) >= _BATCH_ENTRIES:
                if comma:
                    buf += b","
                # One orjson call per batch; the list brackets are sliced off.
                buf += orjson.dumps(batch)[1:-1]
                comma = True
                batch.clear()
                if len(buf) >= _CHUNK_BYTES:
                    yield bytes(buf)
                    buf.clear()
        if batch:
            if comma:
                buf += b","
            buf += orjson.dumps(batch)[1:-1]
        buf += b"]}"
        yield bytes(buf)


# ---------------------------------------------------------------------------- helpers


def _first(values: Mapping[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _window(query: Mapping[str, list[str]]) -> tuple[int, int]:
    bad = []
    bounds: dict[str, int] = {}
    for name in ("start", "end"):
        raw = _first(query, name)
        ns = parse_rfc3339_ns(raw) if raw else None
        if ns is None:
            bad.append(name)
        else:
            bounds[name] = ns
    if bad:
        raise _Reject(400, f"missing or invalid parameter(s): {', '.join(bad)}")
    if bounds["end"] < bounds["start"]:
        raise _Reject(400, "missing or invalid parameter(s): end is before start")
    return bounds["start"], bounds["end"]


def _grant_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    if requested is None or not requested.strip():
        return tuple(granted)
    names = requested.split()
    unknown = [s for s in names if s not in KNOWN_SCOPES]
    if unknown:
        raise _Reject(400, f"invalid scope(s): {' '.join(unknown)}")
    return tuple(s for s in names if scope_covers(granted, s))


def _token_payload(
    emu: Emulator, client_id: str, tailnet: str, scopes: tuple[str, ...]
) -> dict[str, Any]:
    lifetime = emu.config.token_lifetime_seconds
    token = emu._issue(client_id, tailnet, scopes, lifetime)
    expires: float = int(lifetime) if float(lifetime).is_integer() else lifetime
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires,
        "scope": " ".join(scopes),
    }
