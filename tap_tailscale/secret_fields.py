"""Fields of the API's objects that hold a credential, and how they are kept out.

The API documents these as write-only or returned only at creation (key values,
webhook and posture integration secrets, log-stream tokens and cloud credentials). A
GET should never hold them; if one ever does, records drop them and recordings redact
them. An invite link works as a bearer credential: it keeps its address, not its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tap_tailscale.errors import REDACTED

SECRET_FIELDS = frozenset(
    ("key", "secret", "clientSecret", "token", "s3SecretAccessKey", "gcsCredentials")
)
INVITE_URL_FIELDS = frozenset(("inviteUrl",))
_SECRET_PREFIX = "tskey-"  # noqa: S105 (a prefix to detect, not a password)


def is_secret(name: str, value: Any) -> bool:
    """Whether a field holds a secret: a known secret name, or a Tailscale key value."""
    return name in SECRET_FIELDS or (isinstance(value, str) and value.startswith(_SECRET_PREFIX))


def redact_invite_url(value: Any) -> Any:
    """The invite link without its code (the last path segment) and any query or fragment."""
    if not isinstance(value, str) or not value:
        return value
    link = value.split("?", 1)[0].split("#", 1)[0]
    head, _, _ = link.rstrip("/").rpartition("/")
    return f"{head}/{REDACTED}" if "://" in head else REDACTED


def scrub_document(value: Any) -> tuple[Any, bool]:
    """A JSON document with every secret field redacted and invite links cut, at any
    depth, and whether anything changed."""
    if isinstance(value, Mapping):
        changed = False
        out: dict[str, Any] = {}
        for name, item in value.items():
            if is_secret(name, item) and item not in (None, ""):
                out[name], changed = REDACTED, True
            elif name in INVITE_URL_FIELDS and isinstance(item, str):
                out[name] = redact_invite_url(item)
                changed = changed or out[name] != item
            else:
                out[name], inner = scrub_document(item)
                changed = changed or inner
        return out, changed
    if isinstance(value, list):
        items = [scrub_document(item) for item in value]
        return [item for item, _ in items], any(flag for _, flag in items)
    return value, False
