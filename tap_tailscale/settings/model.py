"""The run's settings as one frozen, typed object, built and checked once.

Streams, the authenticators and the HTTP session receive a `Settings` (or its typed `auth`,
`recording` and `posture` parts); none of them reads the raw config. Defaults come from
`settings_schema.SETTINGS` alone, and every check that can fail before a request is
made here, with one line that says what to do.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tap_tailscale.errors import ConfigError, InvalidTimestampError
from tap_tailscale.settings.auth import (
    API_KEY_SCHEMES,
    AUTH_SETTINGS,
    DEFAULT_TOKEN_TIMEOUT_SECONDS,
    AuthSettings,
    RecordingSettings,
    is_set,
    parse_scopes,
)
from tap_tailscale.settings.schema import DEFAULT_API_URL, SETTINGS
from tap_tailscale.timeutil import parse_setting_time, utc_now

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Mapping

_DEFAULTS: dict[str, Any] = {
    name: spec["default"] for name, spec in SETTINGS["properties"].items() if "default" in spec
}


def _default(name: str) -> Any:
    return _DEFAULTS[name]


@dataclass(frozen=True)
class Thresholds:
    """The settings the rules read (posture_* settings)."""

    webhook_allowed_hosts: tuple[str, ...] | None = None
    invite_max_age_days: int = 7
    key_expiry_days: int = 14
    client_releases_behind: int = 3


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know from its config, typed and validated."""

    api_url: str = DEFAULT_API_URL
    tailnets: tuple[str, ...] = ("-",)
    start_date: datetime | None = None
    end_date: datetime | None = None
    lag: timedelta = timedelta(seconds=_default("lag_seconds"))
    overlap: timedelta = timedelta(seconds=_default("overlap_seconds"))
    configuration_window: timedelta = timedelta(seconds=_default("configuration_window_seconds"))
    network_window: timedelta = timedelta(seconds=_default("network_window_seconds"))
    min_window: timedelta = timedelta(seconds=_default("min_window_seconds"))
    actor: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    event: tuple[str, ...] = ()
    severity_overrides: Mapping[str, str] = field(default_factory=dict)
    request_timeout: float = float(_default("request_timeout_seconds"))
    request_deadline: float = float(_default("request_deadline_seconds"))
    max_attempts: int = _default("max_attempts")
    initial_backoff: float = float(_default("initial_backoff_seconds"))
    max_backoff: float = float(_default("max_backoff_seconds"))
    max_response_bytes: int = _default("max_response_bytes")
    max_entry_bytes: int = _default("max_entry_bytes")
    read_ahead_windows: int = _default("read_ahead_windows")
    per_device_concurrency: int = _default("per_device_concurrency")
    inventory_interval: timedelta = timedelta(seconds=_default("inventory_interval_seconds"))
    inventory_intervals: Mapping[str, timedelta] = field(default_factory=dict)
    record_dir: str | None = None
    replay_dir: str | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    posture: Thresholds = field(default_factory=Thresholds)

    @property
    def recording(self) -> RecordingSettings:
        """Where the HTTP session records to or replays from (checked: not both)."""
        return RecordingSettings(record_dir=self.record_dir, replay_dir=self.replay_dir)

    @property
    def configuration_filters(self) -> dict[str, list[str]]:
        """The configuration log's server-side filters, as repeated query parameters."""
        filters = {"actor": self.actor, "target": self.target, "event": self.event}
        return {name: list(values) for name, values in filters.items() if values}

    def snapshot_interval(self, stream: str) -> timedelta:
        """The least time between two snapshots of an inventory stream."""
        return self.inventory_intervals.get(stream, self.inventory_interval)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, now: datetime | None = None) -> Settings:
        """Build and check the settings; raise `ConfigError` with one line on a problem."""
        value = _Reader(config)
        settings = cls(
            api_url=_api_url(value.text("api_url") or DEFAULT_API_URL),
            tailnets=_tailnets(config),
            start_date=value.time("start_date"),
            end_date=value.time("end_date"),
            lag=timedelta(seconds=value.number("lag_seconds")),
            overlap=timedelta(seconds=value.number("overlap_seconds")),
            configuration_window=timedelta(seconds=value.number("configuration_window_seconds")),
            network_window=timedelta(seconds=value.number("network_window_seconds")),
            min_window=timedelta(seconds=value.number("min_window_seconds")),
            actor=value.strings("actor"),
            target=value.strings("target"),
            event=value.strings("event"),
            severity_overrides=dict(config.get("severity_overrides") or {}),
            request_timeout=value.number("request_timeout_seconds"),
            request_deadline=value.number("request_deadline_seconds"),
            max_attempts=int(value.number("max_attempts")),
            initial_backoff=value.number("initial_backoff_seconds"),
            max_backoff=value.number("max_backoff_seconds"),
            max_response_bytes=int(value.number("max_response_bytes")),
            max_entry_bytes=int(value.number("max_entry_bytes")),
            read_ahead_windows=int(value.number("read_ahead_windows")),
            per_device_concurrency=int(value.number("per_device_concurrency")),
            inventory_interval=timedelta(seconds=value.number("inventory_interval_seconds")),
            inventory_intervals=_intervals(config.get("inventory_intervals")),
            record_dir=value.text("record_dir"),
            replay_dir=value.text("replay_dir"),
            auth=_auth(value, value.number("request_timeout_seconds")),
            posture=_posture(value),
        )
        if config.get("min_window_seconds") in (None, ""):
            # The default minimum yields to a smaller configured window; only an
            # explicit minimum above a window size is a contradiction.
            smallest = min(settings.configuration_window, settings.network_window)
            settings = replace(settings, min_window=min(settings.min_window, smallest))
        settings.check(now or utc_now())
        return settings

    def check(self, now: datetime) -> None:
        """Reject combinations that would silently read nothing or read wrongly."""
        _ = self.recording  # raises when both record_dir and replay_dir are set
        if self.start_date is not None and self.start_date > now:
            raise ConfigError(
                f"start_date {self.start_date.isoformat()} is in the future; "
                "set it to a past date or leave it out."
            )
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ConfigError(
                f"end_date {self.end_date.isoformat()} is not after start_date "
                f"{self.start_date.isoformat()}; swap or correct them."
            )
        for name, size in (
            ("configuration_window_seconds", self.configuration_window),
            ("network_window_seconds", self.network_window),
        ):
            if self.min_window > size:
                raise ConfigError(
                    f"min_window_seconds ({self.min_window.total_seconds():g}) is larger than "
                    f"{name} ({size.total_seconds():g}); lower it or raise {name}."
                )


def unknown_setting_warnings(config: Iterable[str], known: Iterable[str]) -> list[str]:
    """One warning per setting name the tap does not know, naming the closest known one."""
    known_names = sorted(known)
    warnings = []
    for name in sorted(set(config) - set(known_names)):
        close = difflib.get_close_matches(name, known_names, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else "; see `tap-tailscale --about`."
        warnings.append(f"Unknown setting `{name}` is ignored{hint}")
    return warnings


def log_unknown_settings(
    config: Mapping[str, Any], known: Iterable[str], logger: logging.Logger
) -> None:
    """Warn about misspelt or unsupported setting names."""
    for warning in unknown_setting_warnings(config, known):
        logger.warning(warning)


class _Reader:
    """Typed reads of raw config values, with the schema's defaults."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._config = config

    def raw(self, name: str) -> Any:
        """The value as given, or the schema's default when unset."""
        return self._raw(name)

    def _raw(self, name: str) -> Any:
        value = self._config.get(name)
        # Meltano passes unset settings as None or "".
        return _DEFAULTS.get(name) if value is None or value == "" else value

    def text(self, name: str) -> str | None:
        value = self._raw(name)
        return None if value is None else str(value)

    def number(self, name: str) -> float:
        value = self._raw(name)
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a number, not {value!r}.")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {value!r}.") from None

    def strings(self, name: str) -> tuple[str, ...]:
        value = self._raw(name) or ()
        if isinstance(value, str):
            return (value,)
        return tuple(str(item) for item in value)

    def credential(self, name: str) -> str | None:
        """A credential setting, stripped; None when unset. Its value is never echoed."""
        value = self._config.get(name)
        if not is_set(value):
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string.")
        return value.strip()

    def time(self, name: str) -> datetime | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            return parse_setting_time(str(value))
        except InvalidTimestampError:
            raise ConfigError(f"{name} must be an ISO 8601 date or time, not {value!r}.") from None


def _api_url(value: str) -> str:
    url = value.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"api_url must be an http(s) URL such as {DEFAULT_API_URL}.")
    if parts.path.rstrip("/").endswith("/api/v2"):
        raise ConfigError(
            f"api_url must be the API's base URL without /api/v2 (for example "
            f"{DEFAULT_API_URL}); the tap adds the path itself."
        )
    return url


def _auth(value: _Reader, request_timeout: float) -> AuthSettings:
    """The credential settings, typed; the method they describe is checked when used."""
    scheme = value.raw("api_key_scheme") or "basic"
    if not isinstance(scheme, str) or scheme.strip().lower() not in API_KEY_SCHEMES:
        raise ConfigError("api_key_scheme must be 'basic' or 'bearer'.")
    credentials = {name: value.credential(name) for name in AUTH_SETTINGS}
    return AuthSettings(
        **credentials,
        api_key_scheme=scheme.strip().lower(),
        oauth_scopes=tuple(parse_scopes(value.raw("oauth_scopes"))),
        # Token requests use request_timeout_seconds, else 60 s like the SDK.
        token_timeout=request_timeout if request_timeout > 0 else DEFAULT_TOKEN_TIMEOUT_SECONDS,
    )


def _posture(value: _Reader) -> Thresholds:
    """The posture rules' thresholds (defaults as settings_schema says)."""
    hosts = value.raw("posture_webhook_allowed_hosts")
    return Thresholds(
        webhook_allowed_hosts=tuple(str(h) for h in hosts) if hosts else None,
        invite_max_age_days=int(value.number("posture_invite_max_age_days")),
        key_expiry_days=int(value.number("posture_key_expiry_days")),
        client_releases_behind=int(value.number("posture_client_releases_behind")),
    )


def _tailnets(config: Mapping[str, Any]) -> tuple[str, ...]:
    configured = config.get("tailnets") or [config.get("tailnet") or _default("tailnet")]
    if isinstance(configured, str):
        configured = [configured]
    tailnets = tuple(dict.fromkeys(str(t).strip() for t in configured if str(t).strip()))
    if not tailnets:
        raise ConfigError("tailnets is empty; name at least one tailnet, or `-` for your own.")
    return tailnets


def _intervals(value: Any) -> dict[str, timedelta]:
    """`inventory_intervals` as stream -> least time between snapshots."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ConfigError("inventory_intervals must be an object of stream name -> seconds.")
    intervals = {}
    for name, seconds in value.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ConfigError(
                f"inventory_intervals[{name!r}] must be a number of seconds >= 0, not {seconds!r}."
            )
        intervals[str(name)] = timedelta(seconds=seconds)
    return intervals
