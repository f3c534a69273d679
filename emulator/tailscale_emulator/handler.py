"""Request routing: which path goes to which endpoint, and the errors every route shares."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from tailscale_emulator.access import Reject
from tailscale_emulator.inventory_routes import DEVICE_PATH, TAILNET_INVENTORY_PATH, InventoryMixin
from tailscale_emulator.logs import LogsMixin
from tailscale_emulator.oauth import OAuthMixin
from tailscale_emulator.posture_routes import POSTURE_PATH, PostureMixin

LOGGING_PATH = re.compile(r"/api/v2/tailnet/([^/]+)/logging/(configuration|network)/?")
TOKEN_PATH = "/api/v2/oauth/token"  # noqa: S105 - a URL path
EXCHANGE_PATH = "/api/v2/oauth/token-exchange"
_GET_PATHS = (LOGGING_PATH, TAILNET_INVENTORY_PATH, DEVICE_PATH, POSTURE_PATH)
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class Handler(LogsMixin, InventoryMixin, PostureMixin, OAuthMixin):
    """One connection of the emulator (HTTP/1.1, keep-alive)."""

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler names it
        """Serve the logging and inventory endpoints."""
        self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if split.path in {TOKEN_PATH, EXCHANGE_PATH}:
            entry = self._new_entry(split.path, query, token=True)
            self._send_json(entry, 405, {"message": "method not allowed"}, [("Allow", "POST")])
            return
        entry = self._new_entry(split.path, query, token=False)
        logs = LOGGING_PATH.fullmatch(split.path)
        inventory = TAILNET_INVENTORY_PATH.fullmatch(split.path)
        device = DEVICE_PATH.fullmatch(split.path)
        posture = POSTURE_PATH.fullmatch(split.path)
        try:
            with self.emulator._serving(split.path):
                if logs is not None:
                    self._serve_logs(entry, unquote(logs.group(1)), logs.group(2), query)
                elif inventory is not None:
                    tailnet, resource = unquote(inventory.group(1)), inventory.group(2)
                    self._serve_inventory(entry, tailnet, resource, query)
                elif device is not None:
                    self._serve_device(entry, unquote(device.group(1)), query, device.group(2))
                elif posture is not None:
                    tailnet, resource = unquote(posture.group(1)), unquote(posture.group(2))
                    self._serve_posture(entry, tailnet, resource)
                else:
                    raise Reject(404, "not found")
        except Reject as reject:
            entry.fault = reject.fault or entry.fault
            self._send_json(entry, reject.status, {"message": reject.message})
        except _DISCONNECTS:
            self.close_connection = True

    def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler names it
        """Serve the OAuth token endpoints."""
        body = self._read_body()
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        if split.path not in {TOKEN_PATH, EXCHANGE_PATH}:
            entry = self._new_entry(split.path, query, token=False)
            status, message = (405, "method not allowed")
            if not any(p.fullmatch(split.path) for p in _GET_PATHS):
                status, message = 404, "not found"
            self._send_json(entry, status, {"message": message})
            return
        entry = self._new_entry(split.path, query, token=True)
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        try:
            if split.path == TOKEN_PATH:
                payload = self._client_credentials(entry, form)
            else:
                payload = self._token_exchange(entry, form)
        except Reject as reject:
            self._send_json(entry, reject.status, {"message": reject.message})
            return
        self._send_json(entry, 200, payload, [("Cache-Control", "no-store")])
