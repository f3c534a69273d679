"""Which OAuth scopes an inventory endpoint needs, and how the live API says one is missing.

Every inventory stream declares one `ScopeNeed`. The live API answers a missing scope in
one of two ways: 403 `calling actor does not have enough permissions to perform this
function` on most endpoints, and 404 `not found` on the endpoints it hides from such a
credential (users, webhooks, contacts, posture integrations, services, OAuth apps,
log-stream status). Neither answer names the scope, so the stream's declaration does.

`/keys?all=true` is governed by four scopes, one per kind of key: with some of them the
answer is 200 with those kinds only, and nothing says the others are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class ScopeNeed:
    """The scopes an endpoint needs (any one of them will do) and how their absence shows."""

    scopes: tuple[str, ...]
    #: True when the live API answers 404 `not found`, not 403, to a credential without
    #: the scope. A 404 then means "scope missing" unless the tailnet itself is unknown.
    hidden: bool = False

    @property
    def label(self) -> str:
        """The scope names as the warnings write them: "`a`", "`a` or `b`"."""
        quoted = [f"`{name}`" for name in self.scopes]
        return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


# keyType -> the scope that lets `/keys?all=true` list that kind of key.
KEY_KIND_SCOPES: dict[str, str] = {
    "auth": "auth_keys:read",
    "api": "api_access_tokens:read",
    "client": "oauth_keys:read",
    "federated": "federated_keys:read",
}
KEY_KIND_NAMES: dict[str, str] = {
    "auth": "auth keys",
    "api": "API access tokens",
    "client": "OAuth clients",
    "federated": "federated identities",
}


def covers(granted: Iterable[str], needed: str) -> bool:
    """Whether a granted scope implies `needed`: itself, `all`, `all:read`, or its write form."""
    for scope in granted:
        if scope in {needed, "all"}:
            return True
        if needed.endswith(":read") and scope in {"all:read", needed.removesuffix(":read")}:
            return True
    return False


def unreadable_key_kinds(granted: tuple[str, ...] | None) -> list[str] | None:
    """The kinds of key (`keyType`s) the scopes do not let `/keys` list; None when the
    scopes are unknown (an API access token carries its owner's rights, not scopes)."""
    if granted is None:
        return None
    return [kind for kind, scope in KEY_KIND_SCOPES.items() if not covers(granted, scope)]
