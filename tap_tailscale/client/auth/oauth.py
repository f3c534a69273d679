"""Access-token authenticators: OAuth client credentials and workload identity federation.

Tokens are renewed ahead of expiry by `refresh_margin`, timed with an injectable clock,
and a 401 mid-run forces one refresh (see tap_tailscale.client.exchange.send).
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import requests
import requests.adapters
from singer_sdk.authenticators import (
    OAuthAuthenticator,
)

from tap_tailscale.errors import AuthenticationError, ConfigError, redact

if TYPE_CHECKING:
    from collections.abc import Callable

from tap_tailscale.client.auth.base import (
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    ID_TOKEN_FILE_READS,
    ID_TOKEN_FILE_RETRY_SECONDS,
    MAX_API_MESSAGE_CHARS,
    TOKEN_EXCHANGE_PATH,
    TOKEN_PATH,
    TailscaleAuthenticator,
    refresh_margin,
    token_retry,
)
from tap_tailscale.settings import DEFAULT_TOKEN_TIMEOUT_SECONDS, METHOD_HINT, AuthMethod

logger = logging.getLogger(__name__)


class _AccessTokenAuthenticator(TailscaleAuthenticator, OAuthAuthenticator):
    """Shared machinery for credentials exchanged for short-lived Bearer access tokens.

    The SDK's OAuthAuthenticator renews only once a token has expired; here a token is
    renewed `refresh_margin()` seconds before, timed from when its request was sent.
    """

    token_path: ClassVar[str]
    # Completes "... was rejected by <url> (HTTP n: message): check ...".
    rejected_what: ClassVar[str]

    def __init__(
        self,
        *,
        api_url: str,
        client_id: str,
        client_secret: str | None = None,
        oauth_scopes: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TOKEN_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(
            api_url=api_url,
            auth_endpoint=api_url.rstrip("/") + self.token_path,
            oauth_scopes=oauth_scopes,
            default_expiration=DEFAULT_TOKEN_LIFETIME_SECONDS,
            oauth_headers={"Accept": "application/json"},
            client_id=client_id,
            client_secret=client_secret,
        )
        self._clock = clock
        self._timeout = timeout
        self._lifetime = float(DEFAULT_TOKEN_LIFETIME_SECONDS)
        self._refreshed_at: float | None = None
        self._issued_tokens: list[str] = []
        self._granted: tuple[str, ...] | None = None
        # The SDK mounts its retry adapter for https only; the emulator and tests use http.
        for prefix in ("https://", "http://"):
            self._session.mount(prefix, requests.adapters.HTTPAdapter(max_retries=token_retry()))
        # Hooks run before requests follows a redirect, so a 307/308 can never replay the
        # form (which holds the secret or the JWT) to another host.
        self._session.hooks["response"].append(self._refuse_redirect)

    def _refuse_redirect(self, response: requests.Response, **_: Any) -> requests.Response:
        if response.is_redirect:
            raise AuthenticationError(
                f"The token endpoint {self.auth_endpoint} answered with a redirect "
                f"(HTTP {response.status_code}): set api_url to the API's final address."
            )
        return response

    def hint(self, status_code: int | None) -> str:
        """What the user should check after the token endpoint refused them."""
        raise NotImplementedError

    @property
    def lifetime(self) -> float:
        """Lifetime in seconds of the current token (or the default when none is held)."""
        return self._lifetime

    def seconds_until_refresh(self) -> float:
        """Seconds left before the current token is renewed (0 when there is none)."""
        if self.access_token is None or self._refreshed_at is None:
            return 0.0
        elapsed = self._clock() - self._refreshed_at
        return max(0.0, self.lifetime - refresh_margin(self.lifetime) - elapsed)

    def is_token_valid(self) -> bool:
        """True while the token is younger than its lifetime minus the refresh margin."""
        return self.seconds_until_refresh() > 0

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Checking validity, renewing and copying the header must be one step, or a
        # concurrent refresh could hand this request a token that is being replaced.
        with self._lock:
            if not self.is_token_valid():
                self.update_access_token()
            self.auth_headers["Authorization"] = f"Bearer {self.access_token}"
            return super().authenticate_request(request)

    def update_access_token(self) -> None:
        """Fetch a token; any failure becomes a one-line `AuthenticationError` or `ConfigError`.

        Replaces the SDK's version, which truncates a fractional `expires_in` to an int
        (0 would mean "never expires"), times expiry with the wall clock, and surfaces
        connection errors, non-JSON bodies and a missing `access_token` as raw exceptions.
        The current token is only replaced once a new one has been parsed.
        """
        with self._lock:
            self.token_requests += 1
            payload = self.oauth_request_payload  # federation re-reads the ID token here
            sent_at = self._clock()
            logger.debug("Requesting an access token from %s.", self.auth_endpoint)
            try:
                response = self._session.post(
                    self.auth_endpoint,
                    headers=self._oauth_headers,
                    data=payload,
                    timeout=self._timeout,
                )
            except requests.RequestException as ex:
                raise AuthenticationError(
                    f"Could not reach the token endpoint {self.auth_endpoint} "
                    f"({type(ex).__name__}): check api_url and network access."
                ) from None
            if not response.ok:
                self.handle_error(content=response.text, status_code=response.status_code)
            token, lifetime = self._parse_token_response(response)
            self._granted = self._scopes_of(response)
            self.access_token = token
            self.expires_in = max(1, int(lifetime))
            self.last_refreshed = datetime.datetime.now(datetime.UTC)
            self._lifetime = lifetime
            self._refreshed_at = sent_at
            self._issued_tokens.append(token)
            logger.info(
                "Obtained an access token from %s valid for %g s; renewing it after %g s.",
                self.auth_endpoint,
                lifetime,
                round(lifetime - refresh_margin(lifetime), 1),
            )

    def _parse_token_response(self, response: requests.Response) -> tuple[str, float]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"The token endpoint {self.auth_endpoint} answered HTTP {response.status_code} "
                "without an access_token: check that api_url points at the Tailscale API."
            )
        raw = body.get("expires_in")
        try:
            lifetime = float(raw) if raw is not None and not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            lifetime = None
        if lifetime is None or not math.isfinite(lifetime) or lifetime <= 0:
            # A refused token is recovered by the 401 path, so a guess beats failing the run.
            if raw is not None:
                logger.warning(
                    "The token endpoint gave an unusable expires_in; assuming %d s.",
                    DEFAULT_TOKEN_LIFETIME_SECONDS,
                )
            lifetime = float(DEFAULT_TOKEN_LIFETIME_SECONDS)
        return token, lifetime

    def _scopes_of(self, response: requests.Response) -> tuple[str, ...] | None:
        # The token response's `scope` lists what was granted; without it, a request
        # that named scopes got exactly those (the API refuses a scope it cannot grant).
        try:
            body = response.json()
        except ValueError:
            body = None
        scope = body.get("scope") if isinstance(body, dict) else None
        if isinstance(scope, str) and scope.strip():
            return tuple(scope.split())
        return tuple(self.oauth_scopes.split()) if self.oauth_scopes else None

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """The current token's scopes: its response's `scope`, else those asked for."""
        return self._granted

    def handle_error(self, *, content: str, status_code: int | None) -> None:
        """Raise a one-line `AuthenticationError` instead of logging the raw body."""
        message = self._api_message(content)
        detail = f"HTTP {status_code or 'unknown'}" + (f": {message}" if message else "")
        raise AuthenticationError(
            f"{self.rejected_what} {self.auth_endpoint} ({detail}): {self.hint(status_code)}"
        ) from None

    def _api_message(self, content: str) -> str:
        try:
            body = json.loads(content)
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        # Tailscale answers {"message": ...}; generic OAuth servers use error/error_description.
        parts = [body.get("message"), body.get("error_description"), body.get("error")]
        text = next((part for part in parts if isinstance(part, str) and part.strip()), "")
        text = " ".join(redact(text, self.secret_values()).split())
        if len(text) > MAX_API_MESSAGE_CHARS:
            text = text[:MAX_API_MESSAGE_CHARS] + "..."
        return text

    def force_refresh(self) -> bool:
        """Replace the token now, whatever its age; used once after a 401.

        Raises `AuthenticationError` if the token endpoint refuses, which tells the user
        more than the original 401 would (for example, a revoked client). Two threads that
        hit a 401 together each get a refresh: the interface does not say which token was
        refused, and one spare token request is cheaper than a wrongly skipped one.
        """
        with self._lock:
            self.update_access_token()
            return True

    @property
    def token_session(self) -> requests.Session | None:
        return self._session

    def close(self) -> None:
        self._session.close()

    def secret_values(self) -> list[str]:
        values = [self.client_secret] if self.client_secret else []
        return [*values, *self._issued_tokens]

    def _repr_fields(self) -> dict[str, Any]:
        return {
            **super()._repr_fields(),
            "client_id": self.client_id,
            "token_requests": self.token_requests,
        }


class OAuthClientAuthenticator(_AccessTokenAuthenticator):
    """OAuth client-credentials grant at `/api/v2/oauth/token`."""

    method = AuthMethod.OAUTH
    token_path = TOKEN_PATH
    rejected_what = "OAuth client credentials were rejected by"

    @property
    def oauth_request_body(self) -> dict[str, str]:
        """The client-credentials form; `scope` is left out when no scopes are set."""
        body = {
            "grant_type": "client_credentials",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }
        if self.oauth_scopes:
            body["scope"] = self.oauth_scopes
        return body

    def hint(self, status_code: int | None) -> str:
        """What to fix after the token endpoint refused the client credentials."""
        if status_code == 401:
            return "check client_id and client_secret."
        if status_code in {400, 403}:
            return "check client_id, client_secret and that oauth_scopes are granted to the client."
        return "the token endpoint failed; try again later or check api_url."


class FederatedIdentityAuthenticator(_AccessTokenAuthenticator):
    """Workload identity federation: an OIDC ID token exchanged at `/api/v2/oauth/token-exchange`.

    The ID token is read again at every refresh because CI systems rotate it.
    """

    method = AuthMethod.FEDERATED
    token_path = TOKEN_EXCHANGE_PATH
    rejected_what = "The ID token exchange was rejected by"

    def __init__(
        self,
        *,
        api_url: str,
        client_id: str,
        id_token: str | None = None,
        id_token_file: str | None = None,
        id_token_env: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TOKEN_TIMEOUT_SECONDS,
    ) -> None:
        if sum(source is not None for source in (id_token, id_token_file, id_token_env)) != 1:
            raise ConfigError(
                f"{METHOD_HINT}: give exactly one of id_token/id_token_file/id_token_env."
            )
        super().__init__(api_url=api_url, client_id=client_id, clock=clock, timeout=timeout)
        self._id_token = id_token
        self._id_token_file = id_token_file
        self._id_token_env = id_token_env
        self._jwts_sent: list[str] = []

    @property
    def id_token_source(self) -> str:
        """Names the setting the ID token comes from (never the token itself)."""
        if self._id_token_file is not None:
            return f"id_token_file {self._id_token_file}"
        if self._id_token_env is not None:
            return f"id_token_env {self._id_token_env}"
        return "id_token"

    def read_id_token(self) -> str:
        """The current ID token from its source; raises `ConfigError` when it is unusable.

        A rotator that rewrites the file in place leaves it empty or half-written for a
        moment, so a file that looks wrong is read again a few times before giving up.
        """
        attempts = ID_TOKEN_FILE_READS if self._id_token_file is not None else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._read_id_token_once()
            except ConfigError:
                if attempt == attempts:
                    raise
                time.sleep(ID_TOKEN_FILE_RETRY_SECONDS)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_id_token_once(self) -> str:
        if self._id_token_file is not None:
            try:
                token = Path(self._id_token_file).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as ex:
                reason = getattr(ex, "strerror", None) or type(ex).__name__
                raise ConfigError(
                    f"Cannot read id_token_file {self._id_token_file} ({reason}): "
                    "check the path and that the CI job writes the ID token there."
                ) from None
        elif self._id_token_env is not None:
            token = os.environ.get(self._id_token_env, "")
        else:
            token = self._id_token or ""
        token = token.strip()
        if not token:
            raise ConfigError(f"The ID token from {self.id_token_source} is empty.")
        if token.count(".") != 2:
            # Catches a path pasted into id_token, or a file holding something else.
            raise ConfigError(
                f"The ID token from {self.id_token_source} is not a JWT "
                "(expected three dot-separated parts)."
            )
        return token

    @property
    def oauth_request_body(self) -> dict[str, str]:
        """The token-exchange form with a freshly read JWT."""
        jwt = self.read_id_token()
        if jwt not in self._jwts_sent:
            self._jwts_sent.append(jwt)
        return {"client_id": self.client_id or "", "jwt": jwt}

    def hint(self, status_code: int | None) -> str:
        """What to fix after the token exchange refused the ID token."""
        if status_code in {400, 401, 403}:
            return (
                f"check client_id and that the ID token from {self.id_token_source} is "
                "current and matches the federated client's issuer, subject and audience."
            )
        return "the token endpoint failed; try again later or check api_url."

    def secret_values(self) -> list[str]:
        static = [self._id_token] if self._id_token else []
        return [*static, *self._jwts_sent, *super().secret_values()]
