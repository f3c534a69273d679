"""Authentication to the Tailscale API: API keys, OAuth clients and workload identity.

The tap builds one authenticator per `Tap` instance with `build_authenticator` and every
stream shares it, so an access token is fetched about once per lifetime for the whole run.
The SDK's `SingletonMeta` is deliberately not used: it would share the first token between
two taps in one process (for example a pytest session) whatever their credentials.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import json
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
from singer_sdk.authenticators import (
    APIAuthenticatorBase,
    BasicAuthenticator,
    BearerTokenAuthenticator,
    OAuthAuthenticator,
)

from tap_tailscale.errors import AuthenticationError, ConfigError, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/v2/oauth/token"  # noqa: S105 - a URL path, not a password
TOKEN_EXCHANGE_PATH = "/api/v2/oauth/token-exchange"  # noqa: S105 - a URL path

# Tailscale documents a one-hour access token; assume that when `expires_in` is absent
# rather than letting the SDK treat the token as immortal.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
MAX_REFRESH_MARGIN_SECONDS = 300.0
DEFAULT_TOKEN_TIMEOUT_SECONDS = 60.0
REFRESH_MARGIN_FRACTION = 0.2

_ID_TOKEN_SETTINGS = ("id_token", "id_token_file", "id_token_env")
_AUTH_SETTINGS = ("api_key", "client_id", "client_secret", *_ID_TOKEN_SETTINGS)
_METHOD_HINT = (
    "Set exactly one auth method: api_key, or client_id + client_secret, "
    "or client_id + id_token/id_token_file/id_token_env"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_API_MESSAGE_CHARS = 200
# Rides out a token file caught mid-rewrite (about a second in all).
_ID_TOKEN_FILE_READS = 5
_ID_TOKEN_FILE_RETRY_SECONDS = 0.2


class AuthMethod(enum.StrEnum):
    """How the tap proves its identity to the API."""

    API_KEY = "api_key"
    OAUTH = "oauth"
    FEDERATED = "federated"
    NONE = "none"


def refresh_margin(expires_in: float) -> float:
    """Seconds before expiry at which a token is renewed: min(300 s, 20% of its lifetime).

    A fixed five minutes would exceed short test lifetimes; a pure percentage would renew
    a one-hour token twelve minutes early for no benefit.
    """
    return min(MAX_REFRESH_MARGIN_SECONDS, REFRESH_MARGIN_FRACTION * expires_in)


def _is_set(value: Any) -> bool:
    # Meltano passes unset settings as None or "", never as absent keys only.
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def has_credentials(config: Mapping[str, Any]) -> bool:
    """True when any authentication setting is given."""
    return any(_is_set(config.get(name)) for name in _AUTH_SETTINGS)


def resolve_auth_method(config: Mapping[str, Any]) -> AuthMethod:
    """Return the single auth method the settings describe, or raise `ConfigError`."""
    found = [name for name in _AUTH_SETTINGS if _is_set(config.get(name))]
    present = set(found)
    if present == {"api_key"}:
        return AuthMethod.API_KEY
    if present == {"client_id", "client_secret"}:
        return AuthMethod.OAUTH
    id_sources = present.intersection(_ID_TOKEN_SETTINGS)
    if len(id_sources) == 1 and present == {"client_id", *id_sources}:
        return AuthMethod.FEDERATED
    # Only setting names are echoed: values may be secrets.
    raise ConfigError(f"{_METHOD_HINT} (found: {', '.join(found) or 'none'}).")


def _origin(url: str | None) -> tuple[str, str, int] | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a malformed port
        return None
    if not host or port is None:
        return None
    return scheme, host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_str(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name)
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string.")
    return value.strip()


def _parse_scopes(value: Any) -> list[str]:
    """Accept a list of scopes or one string separated by spaces (or commas)."""
    if not _is_set(value):
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [scope for item in value for scope in item.replace(",", " ").split()]
    raise ConfigError(
        "oauth_scopes must be a list of scope names or one space-separated string, "
        'for example ["logs:configuration:read", "logs:network:read"].'
    )


def _token_retry() -> urllib3.Retry:
    # Connection failures and gateway errors are transient; retry a couple of times with
    # a short backoff so a blip does not fail the whole sync, and cap Retry-After so a
    # rate-limited token endpoint cannot stall the run indefinitely.
    return urllib3.Retry(
        total=3,
        connect=3,
        read=2,
        status=2,
        other=0,
        backoff_factor=0.2,
        allowed_methods=frozenset({"POST"}),
        status_forcelist=(429, 502, 503, 504),
        raise_on_status=False,
        retry_after_max=30,
    )


class TailscaleAuthenticator(APIAuthenticatorBase):
    """What every Tailscale authenticator offers the streams.

    Credentials are attached only to requests whose scheme, host and port equal
    `api_url`'s, so a redirect or a retried request aimed elsewhere goes out bare.
    """

    method: AuthMethod
    token_requests: int

    def __init__(self, *args: Any, api_url: str, **kwargs: Any) -> None:
        origin = _origin(api_url)
        if origin is None or origin[0] not in _DEFAULT_PORTS:
            raise ConfigError("api_url must be an http(s) URL such as https://api.tailscale.com.")
        if origin[0] == "http" and not _is_loopback(origin[1]):
            logger.warning(
                "api_url %s is plain http: credentials will cross the network unencrypted.",
                api_url,
            )
        super().__init__(*args, **kwargs)
        self.api_url = api_url.rstrip("/")
        self._api_origin = origin
        self.token_requests = 0
        # Re-entrant: authenticate_request and force_refresh hold it while they call
        # update_access_token, which takes it too so that it is safe when called alone.
        self._lock = threading.RLock()

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Authenticate `r` if it is addressed to the API; otherwise strip any credential."""
        if _origin(r.url) != self._api_origin:
            # This authenticator owns the Authorization header; a copy left over from the
            # original request must not travel to a foreign host.
            r.headers.pop("Authorization", None)
            logger.debug("Not sending credentials to %s: it is not api_url.", _origin(r.url))
            return r
        return self.authenticate_request(r)

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the credential headers and leave the URL alone.

        The SDK's version re-encodes the query string even with no auth params, which
        drops empty values and undoes a stream's `safe_query_chars`.
        """
        request.headers.update(self.auth_headers)
        return request

    def force_refresh(self) -> bool:
        """Obtain a new token after a 401. Returns False when there is nothing to refresh."""
        return False

    def secret_values(self) -> list[str]:
        """Every secret known now, for redaction of logs and messages."""
        return []

    @property
    def token_session(self) -> requests.Session | None:
        """The session token requests go through, if this method fetches tokens."""
        return None

    def close(self) -> None:
        """Release network resources (the token endpoint's connection pool, if any)."""

    def _repr_fields(self) -> dict[str, Any]:
        return {"method": self.method.value, "api_url": self.api_url}

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self._repr_fields().items())
        return f"{type(self).__name__}({fields})"

    __str__ = __repr__


class AnonymousAuthenticator(TailscaleAuthenticator):
    """Sends no credential: for replaying a recording, which needs none."""

    method = AuthMethod.NONE


class ApiKeyBasicAuthenticator(TailscaleAuthenticator, BasicAuthenticator):
    """API access token as the HTTP Basic username with an empty password (Tailscale's default)."""

    method = AuthMethod.API_KEY

    def __init__(self, *, api_url: str, api_key: str) -> None:
        super().__init__(api_url=api_url, username=api_key, password="")
        self._api_key = api_key

    def secret_values(self) -> list[str]:
        # The encoded header is included so a logged header is scrubbed as well.
        encoded = str(self.auth_headers.get("Authorization", "")).removeprefix("Basic ")
        return [self._api_key, encoded]


class ApiKeyBearerAuthenticator(TailscaleAuthenticator, BearerTokenAuthenticator):
    """API access token sent as `Authorization: Bearer`."""

    method = AuthMethod.API_KEY

    def __init__(self, *, api_url: str, api_key: str) -> None:
        super().__init__(api_url=api_url, token=api_key)
        self._api_key = api_key

    def secret_values(self) -> list[str]:
        return [self._api_key]


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
        # The SDK mounts its retry adapter for https only; the emulator and tests use http.
        for prefix in ("https://", "http://"):
            self._session.mount(prefix, requests.adapters.HTTPAdapter(max_retries=_token_retry()))
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
        if len(text) > _MAX_API_MESSAGE_CHARS:
            text = text[:_MAX_API_MESSAGE_CHARS] + "..."
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
        values = [self._client_secret] if self._client_secret else []
        return [*values, *self._issued_tokens]

    def _repr_fields(self) -> dict[str, Any]:
        return {
            **super()._repr_fields(),
            "client_id": self._client_id,
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
            "client_id": self._client_id or "",
            "client_secret": self._client_secret or "",
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
                f"{_METHOD_HINT}: give exactly one of id_token/id_token_file/id_token_env."
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
        attempts = _ID_TOKEN_FILE_READS if self._id_token_file is not None else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._read_id_token_once()
            except ConfigError:
                if attempt == attempts:
                    raise
                time.sleep(_ID_TOKEN_FILE_RETRY_SECONDS)
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
        return {"client_id": self._client_id or "", "jwt": jwt}

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


def build_authenticator(
    config: Mapping[str, Any],
    *,
    api_url: str,
    clock: Callable[[], float] = time.monotonic,
    allow_anonymous: bool = False,
) -> TailscaleAuthenticator:
    """Build the one authenticator a Tap instance shares between its streams.

    `clock` (monotonic seconds) is injectable so tests can drive token expiry. Token
    requests use the tap's `request_timeout_seconds` when set, else 60 s like the SDK.
    `allow_anonymous` (replaying a recording) permits no credentials at all.
    """
    if allow_anonymous and not has_credentials(config):
        return AnonymousAuthenticator(api_url=api_url)
    method = resolve_auth_method(config)
    timeout = config.get("request_timeout_seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        timeout = DEFAULT_TOKEN_TIMEOUT_SECONDS
    if method is AuthMethod.API_KEY:
        api_key = _require_str(config, "api_key")
        scheme = config.get("api_key_scheme") or "basic"
        if not isinstance(scheme, str) or scheme.strip().lower() not in {"basic", "bearer"}:
            raise ConfigError("api_key_scheme must be 'basic' or 'bearer'.")
        if scheme.strip().lower() == "bearer":
            return ApiKeyBearerAuthenticator(api_url=api_url, api_key=api_key)
        return ApiKeyBasicAuthenticator(api_url=api_url, api_key=api_key)

    client_id = _require_str(config, "client_id")
    if method is AuthMethod.OAUTH:
        scopes = _parse_scopes(config.get("oauth_scopes"))
        return OAuthClientAuthenticator(
            api_url=api_url,
            client_id=client_id,
            client_secret=_require_str(config, "client_secret"),
            oauth_scopes=" ".join(scopes) or None,
            clock=clock,
            timeout=timeout,
        )

    if _parse_scopes(config.get("oauth_scopes")):
        logger.warning(
            "oauth_scopes is ignored with workload identity federation: "
            "the federated client's own settings decide the token's scopes."
        )
    source = next(name for name in _ID_TOKEN_SETTINGS if _is_set(config.get(name)))
    return FederatedIdentityAuthenticator(
        api_url=api_url,
        client_id=client_id,
        clock=clock,
        timeout=timeout,
        **{source: _require_str(config, source)},
    )
