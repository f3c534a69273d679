"""The OAuth endpoints: client credentials and workload-identity token exchange."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tailscale_emulator.access import Reject, first, grant_scopes
from tailscale_emulator.base import HandlerBase

if TYPE_CHECKING:
    from tailscale_emulator.access import RequestLogEntry


class OAuthMixin(HandlerBase):
    """`POST /api/v2/oauth/token` and `POST /api/v2/oauth/token-exchange`."""

    def _client_credentials(
        self, entry: RequestLogEntry, form: dict[str, list[str]]
    ) -> dict[str, Any]:
        emu = self.emulator
        grant_type = first(form, "grant_type")
        client_id, secret = first(form, "client_id"), first(form, "client_secret")
        header = self.headers.get("Authorization", "")
        if header[:6].lower() == "basic ":
            # RFC 6749 §2.3.1: client id and secret are form-encoded inside Basic auth.
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise Reject(401, "invalid client credentials") from None
            user, _, password = decoded.partition(":")
            client_id, secret = unquote(user.replace("+", " ")), unquote(password.replace("+", " "))
            entry.auth = "basic"
        entry.credential_id = client_id or None
        if grant_type != "client_credentials":
            raise Reject(400, "unsupported grant_type; use client_credentials")
        client = emu.config.oauth_clients.get(client_id or "")
        if client is None or not hmac.compare_digest(
            client.secret.encode(), (secret or "").encode()
        ):
            raise Reject(401, "invalid client credentials")
        scopes = grant_scopes(first(form, "scope"), client.scopes)
        return self._token_payload(client_id or "", client.tailnet, scopes)

    def _token_exchange(self, entry: RequestLogEntry, form: dict[str, list[str]]) -> dict[str, Any]:
        emu = self.emulator
        client_id, jwt = first(form, "client_id") or "", first(form, "jwt") or ""
        entry.credential_id = client_id or None
        client = emu.config.federated_clients.get(client_id)
        if client is None:
            raise Reject(401, "invalid client credentials")
        if not jwt.startswith(client.accepted_jwt_prefix) or len(jwt.split(".")) != 3:
            raise Reject(401, "invalid or untrusted jwt")
        scopes = grant_scopes(first(form, "scope"), client.scopes)
        return self._token_payload(client_id, client.tailnet, scopes)

    def _token_payload(
        self, client_id: str, tailnet: str, scopes: tuple[str, ...]
    ) -> dict[str, Any]:
        emu = self.emulator
        lifetime = emu.config.token_lifetime_seconds
        token = emu._issue(client_id, tailnet, scopes, lifetime)
        expires: float = int(lifetime) if float(lifetime).is_integer() else lifetime
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires,
            "scope": " ".join(scopes),
        }
