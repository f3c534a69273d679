"""The run's settings: declared once (`schema`), read once (`Settings.from_config`).

Only this package reads the raw config; everything else takes the frozen, typed
`Settings`, with its `AuthSettings` and `RecordingSettings`.
"""

from tap_tailscale.settings.auth import (
    API_KEY_SCHEMES,
    AUTH_SETTINGS,
    DEFAULT_TOKEN_TIMEOUT_SECONDS,
    ID_TOKEN_SETTINGS,
    METHOD_HINT,
    AuthMethod,
    AuthSettings,
    RecordingSettings,
)
from tap_tailscale.settings.model import (
    Settings,
    Thresholds,
    log_unknown_settings,
    unknown_setting_warnings,
)
from tap_tailscale.settings.schema import DEFAULT_API_URL, SETTINGS

__all__ = [
    "API_KEY_SCHEMES",
    "AUTH_SETTINGS",
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_TIMEOUT_SECONDS",
    "ID_TOKEN_SETTINGS",
    "METHOD_HINT",
    "SETTINGS",
    "AuthMethod",
    "AuthSettings",
    "RecordingSettings",
    "Settings",
    "Thresholds",
    "log_unknown_settings",
    "unknown_setting_warnings",
]
