"""The typed authentication and recording settings, as `Settings.from_config` resolves them.

Only `settings.py` reads the raw config; the authenticators and the session builder take
these frozen objects. Secrets are kept out of `repr`, so a logged settings object is safe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from tap_tailscale.errors import ConfigError

API_KEY_SCHEMES = ("basic", "bearer")
DEFAULT_TOKEN_TIMEOUT_SECONDS = 60.0
ID_TOKEN_SETTINGS = ("id_token", "id_token_file", "id_token_env")
AUTH_SETTINGS = ("api_key", "client_id", "client_secret", *ID_TOKEN_SETTINGS)
METHOD_HINT = (
    "Set exactly one auth method: api_key, or client_id + client_secret, "
    "or client_id + id_token/id_token_file/id_token_env"
)


class AuthMethod(enum.StrEnum):
    """How the tap proves its identity to the API."""

    API_KEY = "api_key"
    OAUTH = "oauth"
    FEDERATED = "federated"
    NONE = "none"


def is_set(value: Any) -> bool:
    # Meltano passes unset settings as None or "", never as absent keys only.
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def parse_scopes(value: Any) -> list[str]:
    """Accept a list of scopes or one string separated by spaces (or commas)."""
    if not is_set(value):
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [scope for item in value for scope in item.replace(",", " ").split()]
    raise ConfigError(
        "oauth_scopes must be a list of scope names or one space-separated string, "
        'for example ["logs:configuration:read", "logs:network:read"].'
    )


@dataclass(frozen=True)
class AuthSettings:
    """The credential settings that are set (stripped strings), and how tokens are fetched.

    Which method they describe is decided by `method`, when an authenticator is built, so
    that `--about` and discovery work without credentials.
    """

    api_key: str | None = field(default=None, repr=False)
    api_key_scheme: str = "basic"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    oauth_scopes: tuple[str, ...] = ()
    id_token: str | None = field(default=None, repr=False)
    id_token_file: str | None = None
    id_token_env: str | None = None
    token_timeout: float = DEFAULT_TOKEN_TIMEOUT_SECONDS

    @property
    def present(self) -> tuple[str, ...]:
        """The names of the credential settings given, in the order the hint names them."""
        values = {
            "api_key": self.api_key,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "id_token": self.id_token,
            "id_token_file": self.id_token_file,
            "id_token_env": self.id_token_env,
        }
        return tuple(name for name, value in values.items() if value is not None)

    @property
    def has_credentials(self) -> bool:
        """True when any authentication setting is given."""
        return bool(self.present)

    @property
    def method(self) -> AuthMethod:
        """The single auth method the settings describe; raises `ConfigError` otherwise."""
        found = self.present
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

    @property
    def id_token_source(self) -> dict[str, str]:
        """The one ID token setting given, as the federated authenticator's keyword."""
        values = {
            "id_token": self.id_token,
            "id_token_file": self.id_token_file,
            "id_token_env": self.id_token_env,
        }
        return {name: value for name, value in values.items() if value is not None}

    def secret_values(self) -> list[str]:
        """The secrets among the settings, for scrubbing messages."""
        values = (self.api_key, self.client_secret, self.id_token)
        return [value for value in values if value]


@dataclass(frozen=True)
class RecordingSettings:
    """Where the HTTP session records its exchanges to, or replays them from."""

    record_dir: str | None = None
    replay_dir: str | None = None

    def __post_init__(self) -> None:
        if self.record_dir and self.replay_dir:
            raise ConfigError(
                "record_dir and replay_dir cannot both be set: record one run, then replay it "
                "in another."
            )
