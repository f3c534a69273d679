"""Authentication to the Tailscale API: API keys, OAuth clients and workload identity.

The tap builds one authenticator per `Tap` instance with `build_authenticator` and every
stream shares it, so an access token is fetched about once per lifetime for the whole run.
The SDK's `SingletonMeta` is deliberately not used: it would share the first token between
two taps in one process (for example a pytest session) whatever their credentials.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from singer_sdk.authenticators import (
    BasicAuthenticator,
    BearerTokenAuthenticator,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_tailscale.settings import AuthSettings

from tap_tailscale.client.auth.base import (
    TailscaleAuthenticator,
)
from tap_tailscale.client.auth.oauth import FederatedIdentityAuthenticator, OAuthClientAuthenticator
from tap_tailscale.settings import AuthMethod

logger = logging.getLogger(__name__)


def has_credentials(settings: AuthSettings) -> bool:
    """True when any authentication setting is given."""
    return settings.has_credentials


def resolve_auth_method(settings: AuthSettings) -> AuthMethod:
    """Return the single auth method the settings describe, or raise `ConfigError`."""
    return settings.method


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
    settings: AuthSettings,
    *,
    api_url: str,
    clock: Callable[[], float] = time.monotonic,
    allow_anonymous: bool = False,
) -> TailscaleAuthenticator:
    """Build the one authenticator a Tap instance shares between its streams.

    `settings` is `Settings.auth`, already typed and checked. `clock` (monotonic seconds)
    is injectable so tests can drive token expiry. `allow_anonymous` (replaying a
    recording) permits no credentials at all.
    """
    if allow_anonymous and not settings.has_credentials:
        return AnonymousAuthenticator(api_url=api_url)
    method = settings.method
    if method is AuthMethod.API_KEY:
        api_key = _given(settings.api_key)
        if settings.api_key_scheme == "bearer":
            return ApiKeyBearerAuthenticator(api_url=api_url, api_key=api_key)
        return ApiKeyBasicAuthenticator(api_url=api_url, api_key=api_key)

    client_id = _given(settings.client_id)
    if method is AuthMethod.OAUTH:
        return OAuthClientAuthenticator(
            api_url=api_url,
            client_id=client_id,
            client_secret=_given(settings.client_secret),
            oauth_scopes=" ".join(settings.oauth_scopes) or None,
            clock=clock,
            timeout=settings.token_timeout,
        )

    if settings.oauth_scopes:
        logger.warning(
            "oauth_scopes is ignored with workload identity federation: "
            "the federated client's own settings decide the token's scopes."
        )
    return FederatedIdentityAuthenticator(
        api_url=api_url,
        client_id=client_id,
        clock=clock,
        timeout=settings.token_timeout,
        **settings.id_token_source,
    )


def _given(value: str | None) -> str:
    # `AuthSettings.method` has checked that the setting its method needs is given.
    if value is None:  # pragma: no cover - guarded by AuthSettings.method
        raise AssertionError("auth setting missing after method check")
    return value
