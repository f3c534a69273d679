"""What every Tailscale authenticator shares: the base class and settings helpers.

Credentials are attached only to requests for the API's own origin, so a redirect or
a stray absolute URL never carries them elsewhere.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from singer_sdk.authenticators import (
    APIAuthenticatorBase,
)

from tap_tailscale.errors import ConfigError

if TYPE_CHECKING:
    import requests

    from tap_tailscale.settings import AuthMethod

logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/v2/oauth/token"  # noqa: S105 - a URL path, not a password
TOKEN_EXCHANGE_PATH = "/api/v2/oauth/token-exchange"  # noqa: S105 - a URL path

# Tailscale documents a one-hour access token; assume that when `expires_in` is absent
# rather than letting the SDK treat the token as immortal.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
MAX_REFRESH_MARGIN_SECONDS = 300.0
REFRESH_MARGIN_FRACTION = 0.2

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_API_MESSAGE_CHARS = 200
# Rides out a token file caught mid-rewrite (about a second in all).
ID_TOKEN_FILE_READS = 5
ID_TOKEN_FILE_RETRY_SECONDS = 0.2


def refresh_margin(expires_in: float) -> float:
    """Seconds before expiry at which a token is renewed: min(300 s, 20% of its lifetime).

    A fixed five minutes would exceed short test lifetimes; a pure percentage would renew
    a one-hour token twelve minutes early for no benefit.
    """
    return min(MAX_REFRESH_MARGIN_SECONDS, REFRESH_MARGIN_FRACTION * expires_in)


def token_retry() -> urllib3.Retry:
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

    @property
    def granted_scopes(self) -> tuple[str, ...] | None:
        """The scopes the credential holds, when the API said so; None when unknown.

        An API access token has no scopes: it carries its owner's rights.
        """
        return None

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
