"""Errors a user can act on, and the redaction that keeps secrets out of them.

Every `TailscaleUserError` reaches the console as one line with no traceback
(see `tap_tailscale.tap.main`), so its message must say what to do.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

REDACTED = "[redacted]"

# Tailscale credentials and bearer tokens have recognisable shapes; scrub them even
# when the exact value is not known (for example a token minted mid-run).
_CREDENTIAL_PATTERNS = (
    re.compile(r"tskey-[A-Za-z0-9]+-[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(authorization:\s*(?:basic|bearer)\s+)\S+"),
    re.compile(r"(?i)(\"?access_token\"?\s*[:=]\s*\"?)[^\"\s,}]+"),
    # An invite link works as a bearer link: its last segment is the token.
    re.compile(r'("inviteUrl"\s*:\s*"[^"]*/)[^"/]+'),
)


class TailscaleUserError(Exception):
    """A failure the user can fix. The message is one line that says how."""

    exit_code = 2


class ConfigError(TailscaleUserError):
    """The settings are missing, contradictory or malformed."""


class AuthenticationError(TailscaleUserError):
    """The API rejected the credential (HTTP 401) or a token could not be obtained."""


class MissingScopeError(TailscaleUserError):
    """The credential lacks a scope (HTTP 403)."""


class FlowLogsUnavailableError(TailscaleUserError):
    """Network flow logs are not on the tailnet's plan, or are switched off (HTTP 403)."""


class ApiRequestError(TailscaleUserError):
    """The API refused the request itself (HTTP 400 or 404)."""


class StreamHaltedError(TailscaleUserError):
    """One or more streams stopped early; the others finished. Raised after the sync."""

    exit_code = 3


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return `text` with every known secret and every credential-shaped string removed."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(
            lambda m: (m.group(1) if m.groups() else "") + REDACTED,
            text,
        )
    return text
