"""Who may ask what: scopes, grants, the request log, and JSON error answers."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tailscale_emulator.timefmt import parse_rfc3339_ns

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tailscale_emulator.config import Credential

CONFIG_SCOPE = "logs:configuration:read"
NETWORK_SCOPE = "logs:network:read"
# Scope names Tailscale documents for trust credentials; anything else is a 400.
KNOWN_SCOPES = frozenset(
    {"all", "all:read"}
    | {
        f"{name}{suffix}"
        for name in (
            "account_settings",
            "api_access_tokens",
            "auth_keys",
            "federated_keys",
            "devices:core",
            "devices:posture_attributes",
            "devices:routes",
            "devices:routing",
            "dns",
            "feature_settings",
            "log_streaming",
            "logs:configuration",
            "logs:network",
            "networking_settings",
            "oauth_keys",
            "policy_file",
            "services",
            "users",
            "webhooks",
        )
        for suffix in ("", ":read")
    }
)


@dataclass
class RequestLogEntry:
    """One request as the emulator saw it. Never holds a secret.

    `status` is None when the connection was reset without a response. `bytes_sent` counts
    response body bytes (without chunk framing). `credential_id` names the API key (its
    `Credential.name`, else `api-key:<sha256 prefix>`), OAuth/federated client id, or the
    client behind a bearer token.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None = None
    auth: str | None = None
    credential_id: str | None = None
    fault: str | None = None
    bytes_sent: int = 0
    started_at: float = field(default_factory=time.time)
    duration_seconds: float | None = None


@dataclass
class Grant:
    """What an authenticated request may do."""

    kind: str
    credential_id: str
    tailnet: str
    scopes: tuple[str, ...]
    other_tailnets: tuple[str, ...] = ()


@dataclass
class IssuedToken:
    client_id: str
    tailnet: str
    scopes: tuple[str, ...]
    expires_at: float


def api_key_id(key: str, credential: Credential | None = None) -> str:
    """The request-log name of an API key: its credential's name, else a digest prefix."""
    if credential is not None and credential.name:
        return credential.name
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def scope_covers(granted: Iterable[str], needed: str) -> bool:
    """Whether any granted scope implies `needed` (`all`, `all:read`, or write implies read)."""
    for scope in granted:
        if scope in {needed, "all"}:
            return True
        if needed.endswith(":read") and scope in {"all:read", needed.removesuffix(":read")}:
            return True
    return False


# The live API's answer to a credential without an endpoint's scope. It names no scope.
FORBIDDEN_MESSAGE = "calling actor does not have enough permissions to perform this function"
# Endpoints the live API hides from such a credential answer 404 with this instead
# (users, webhooks, contacts, posture integrations, services, OAuth apps, log-stream status).
HIDDEN_MESSAGE = "not found"


def missing_scope(*, hidden: bool = False) -> Reject:
    """The live answer to a missing scope: 403, or 404 `not found` on a hidden endpoint."""
    return Reject(404, HIDDEN_MESSAGE) if hidden else Reject(403, FORBIDDEN_MESSAGE)


def allowed_scopes(grant: Grant, needed: Iterable[str], denied: frozenset[str]) -> list[str]:
    """Those of `needed` the grant covers and the emulator does not refuse."""
    return [s for s in needed if s not in denied and scope_covers(grant.scopes, s)]


class Reject(Exception):  # noqa: N818 - control flow, not an error condition
    """Answer the current request with a JSON error."""

    def __init__(self, status: int, message: str, fault: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fault = fault


def require_scope(
    grant: Grant, scope: str, denied: frozenset[str], *, hidden: bool = False
) -> None:
    """Reject as the live API does unless the grant covers `scope` and it is not refused.

    `hidden` endpoints answer 404 `not found`, the others 403 (see `missing_scope`).
    """
    if not allowed_scopes(grant, (scope,), denied):
        raise missing_scope(hidden=hidden)


def first(values: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of a query or form parameter."""
    found = values.get(name)
    return found[0] if found else None


def window_ns(query: Mapping[str, list[str]]) -> tuple[int, int]:
    """The `start`/`end` parameters in epoch nanoseconds; 400 if missing or invalid."""
    bad = []
    bounds: dict[str, int] = {}
    for name in ("start", "end"):
        raw = first(query, name)
        ns = parse_rfc3339_ns(raw) if raw else None
        if ns is None:
            bad.append(name)
        else:
            bounds[name] = ns
    if bad:
        raise Reject(400, f"missing or invalid parameter(s): {', '.join(bad)}")
    if bounds["end"] < bounds["start"]:
        raise Reject(400, "missing or invalid parameter(s): end is before start")
    return bounds["start"], bounds["end"]


def grant_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes a token request gets: all the client holds, or exactly those asked for.

    Like the live API, a request for a scope the client does not hold is refused whole
    (403 `OAuth client cannot grant scopes "<the scopes asked for>"`), not narrowed.
    """
    if requested is None or not requested.strip():
        return tuple(granted)
    names = requested.split()
    unknown = [s for s in names if s not in KNOWN_SCOPES]
    if unknown:
        raise Reject(400, f"invalid scope(s): {' '.join(unknown)}")
    if not all(scope_covers(granted, s) for s in names):
        raise Reject(403, f'OAuth client cannot grant scopes "{" ".join(names)}"')
    return tuple(names)
