"""Authentication to the Tailscale API: API keys, OAuth clients and workload identity.

`build_authenticator` turns the typed auth settings into one authenticator; each attaches
its credential only to requests for the API's own origin.
"""

from tap_tailscale.client.auth.authenticators import (
    AnonymousAuthenticator,
    ApiKeyBasicAuthenticator,
    ApiKeyBearerAuthenticator,
    build_authenticator,
    has_credentials,
    resolve_auth_method,
)
from tap_tailscale.client.auth.base import (
    DEFAULT_TOKEN_LIFETIME_SECONDS,
    TOKEN_EXCHANGE_PATH,
    TOKEN_PATH,
    TailscaleAuthenticator,
    refresh_margin,
    token_retry,
)
from tap_tailscale.client.auth.oauth import FederatedIdentityAuthenticator, OAuthClientAuthenticator

__all__ = [
    "DEFAULT_TOKEN_LIFETIME_SECONDS",
    "TOKEN_EXCHANGE_PATH",
    "TOKEN_PATH",
    "AnonymousAuthenticator",
    "ApiKeyBasicAuthenticator",
    "ApiKeyBearerAuthenticator",
    "FederatedIdentityAuthenticator",
    "OAuthClientAuthenticator",
    "TailscaleAuthenticator",
    "build_authenticator",
    "has_credentials",
    "refresh_margin",
    "resolve_auth_method",
    "token_retry",
]
