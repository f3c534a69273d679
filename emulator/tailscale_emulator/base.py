"""HTTP plumbing shared by every route: JSON answers, the request log, authorisation."""

from __future__ import annotations

import socket
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from tailscale_emulator.access import Reject, RequestLogEntry, require_scope

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tailscale_emulator.access import Grant
    from tailscale_emulator.server import Emulator, _Server


class HandlerBase(BaseHTTPRequestHandler):
    """Connection handling and response writing; routes live in the mixins."""

    protocol_version = "HTTP/1.1"
    server_version = "tailscale-api-emulator"
    sys_version = ""
    server: _Server
    # Error bodies for parse-level failures the base class reports itself.
    _DEFAULT_MESSAGES: ClassVar[dict[int, str]] = {404: "not found"}

    @property
    def emulator(self) -> Emulator:
        """The emulator this request belongs to."""
        return self.server.emulator

    def setup(self) -> None:
        """Disable Nagle and register the connection so `stop()` can drop it."""
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle plus delayed ACK
        # stalls every small response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.emulator._track(self.connection, add=False)

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
        self._send_raw(entry, status, orjson.dumps(payload), headers)

    def _send_raw(
        self,
        entry: RequestLogEntry,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        content_type: str = "application/json",
    ) -> None:
        self._finish_entry(entry, status, len(body))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
        self.emulator._record(entry, token=token)
        return entry

    def _grant(self, entry: RequestLogEntry, tailnet_segment: str) -> tuple[Grant, str]:
        """Check the credential and the tailnet (in that order); return both."""
        emu = self.emulator
        grant = emu._authenticate(self.headers.get("Authorization"))
        entry.auth, entry.credential_id = grant.kind, grant.credential_id
        tailnet = grant.tailnet if tailnet_segment == "-" else tailnet_segment
        allowed = tailnet == grant.tailnet or tailnet in grant.other_tailnets
        if not allowed or tailnet not in emu.config.tailnets:
            raise Reject(404, "tailnet not found")
        return grant, tailnet

    def _authorize(
        self, entry: RequestLogEntry, tailnet_segment: str, scope: str, *, hidden: bool = False
    ) -> str:
        """Check credential, tailnet and scope; return the tailnet.

        Without the scope, `hidden` endpoints answer 404 `not found` (as the live API does
        for users, webhooks, contacts, ...), the others 403.
        """
        grant, tailnet = self._grant(entry, tailnet_segment)
        require_scope(grant, scope, self.emulator.config.denied(), hidden=hidden)
        return tailnet
