"""Authentication to the Tailscale API: API keys, OAuth clients and workload identity.

The tap builds one authenticator per `Tap` instance with `build_authenticator` and every
stream shares it, so an access token is fetched about once per lifetime for the whole run.
The SDK's `SingletonMeta` is deliberately not used: it would share the first token between
two taps in one process (for example a pytest session) whatever their credentials.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from singer_sdk.authenticators import (
    BasicAuthenticator,
    BearerTokenAuthenticator,
)

from tap_tailscale.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

from tap_tailscale.auth_base import (
    AUTH_SETTINGS,
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    DEFAULT_TOKEN_TIMEOUT_SECONDS,
    ID_TOKEN_SETTINGS,
    METHOD_HINT,
    TOKEN_EXCHANGE_PATH,
    TOKEN_PATH,
    AuthMethod,
    TailscaleAuthenticator,
    is_set,
    parse_scopes,
    refresh_margin,
    require_str,
    token_retry,
)
from tap_tailscale.oauth import FederatedIdentityAuthenticator, OAuthClientAuthenticator

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_SECONDS",
    "TOKEN_EXCHANGE_PATH",
    "TOKEN_PATH",
    "AnonymousAuthenticator",
    "ApiKeyBasicAuthenticator",
    "ApiKeyBearerAuthenticator",
    "AuthMethod",
    "FederatedIdentityAuthenticator",
    "OAuthClientAuthenticator",
    "TailscaleAuthenticator",
    "build_authenticator",
    "has_credentials",
    "refresh_margin",
    "resolve_auth_method",
    "token_retry",
]


def has_credentials(config: Mapping[str, Any]) -> bool:
    """True when any authentication setting is given."""
    return any(is_set(config.get(name)) for name in AUTH_SETTINGS)


def resolve_auth_method(config: Mapping[str, Any]) -> AuthMethod:
    """Return the single auth method the settings describe, or raise `ConfigError`."""
    found = [name for name in AUTH_SETTINGS if is_set(config.get(name))]
    present = set(found)
    if present == {"api_key"}:
        return AuthMethod.API_KEY
    if present == {"client_id", "client_secret"}:
        return AuthMethod.OAUTH
    id_sources = present.intersection(ID_TOKEN_SETTINGS)
    if len(id_sources) == 1 and present == {"client_id", *id_sources}:
        return AuthMethod.FEDERATED
    # Only setting names are echoed: values may be secrets.
    raise ConfigError(f"{METHOD_HINT} (found: {', '.join(found) or 'none'}).")


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
        api_key = require_str(config, "api_key")
        scheme = config.get("api_key_scheme") or "basic"
        if not isinstance(scheme, str) or scheme.strip().lower() not in {"basic", "bearer"}:
            raise ConfigError("api_key_scheme must be 'basic' or 'bearer'.")
        if scheme.strip().lower() == "bearer":
            return ApiKeyBearerAuthenticator(api_url=api_url, api_key=api_key)
        return ApiKeyBasicAuthenticator(api_url=api_url, api_key=api_key)

    client_id = require_str(config, "client_id")
    if method is AuthMethod.OAUTH:
        scopes = parse_scopes(config.get("oauth_scopes"))
        return OAuthClientAuthenticator(
            api_url=api_url,
            client_id=client_id,
            client_secret=require_str(config, "client_secret"),
            oauth_scopes=" ".join(scopes) or None,
            clock=clock,
            timeout=timeout,
        )

    if parse_scopes(config.get("oauth_scopes")):
        logger.warning(
            "oauth_scopes is ignored with workload identity federation: "
            "the federated client's own settings decide the token's scopes."
        )
    source = next(name for name in ID_TOKEN_SETTINGS if is_set(config.get(name)))
    return FederatedIdentityAuthenticator(
        api_url=api_url,
        client_id=client_id,
        clock=clock,
        timeout=timeout,
        **{source: require_str(config, source)},
    )
