"""The typed authentication and recording settings, as `Settings.from_config` resolves them.

Only `settings.py` reads the raw config; the authenticators and the session builder take
these frozen objects. Secrets are kept out of `repr`, so a logged settings object is safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tap_tailscale.auth_base import (
    DEFAULT_TOKEN_TIMEOUT_SECONDS,
    ID_TOKEN_SETTINGS,
    METHOD_HINT,
    AuthMethod,
)
from tap_tailscale.errors import ConfigError

API_KEY_SCHEMES = ("basic", "bearer")


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
