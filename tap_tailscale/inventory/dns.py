"""The `dns` record: a tailnet's nameservers, preferences, search paths and split DNS.

Built either from `/dns/configuration` (one call, which also says which nameservers
serve exit-node users) or from the four older endpoints' bodies. One record per
snapshot, keyed by (tailnet, dns_version), the version being a hash of the content's
canonical JSON (the same configuration with its keys in another order has the same
version): an upserting target keeps one row per distinct configuration, with the last
time it was seen. The older endpoints do not say which nameservers serve exit-node
users, so from them a nameserver is `{"address": ...}` alone, as the configuration
endpoint writes one whose `useWithExitNode` is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tap_tailscale.inventory.shaping import canonical_text, content_hash, snapshot_time

if TYPE_CHECKING:
    from datetime import datetime

_CONFIGURATION_FIELDS = frozenset(("nameservers", "splitDNS", "searchPaths", "preferences"))
_PREFERENCE_FIELDS = frozenset(("magicDNS", "overrideLocalDNS"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _nameserver(value: Any) -> Any:
    # The older endpoints list bare addresses; the configuration endpoint, objects.
    return {"address": value} if isinstance(value, str) else value


def _split_servers(split: Any) -> Any:
    # `/dns/split-dns` maps a domain to bare addresses (or null): as objects, like
    # `/dns/configuration`'s `splitDNS`.
    if not isinstance(split, Mapping):
        return split
    return {
        domain: [_nameserver(s) for s in servers] if isinstance(servers, list) else servers
        for domain, servers in split.items()
    }


def dns_record(
    tailnet: str,
    synced_at: str | datetime,
    *,
    configuration: Any = None,
    nameservers: Any = None,
    preferences: Any = None,
    search_paths: Any = None,
    split_dns: Any = None,
) -> dict[str, Any]:
    """A `dns` record from the body of `GET /dns/configuration`, or else from the bodies
    of `/dns/nameservers` (`{"dns": [...]}`), `/dns/preferences`, `/dns/searchpaths`
    and `/dns/split-dns`, each as sent (None when not fetched)."""
    if configuration is not None:
        body = _mapping(configuration)
        servers = body.get("nameservers")
        prefs = _mapping(body.get("preferences"))
        paths = body.get("searchPaths")
        split = body.get("splitDNS")
        unknown = {k: v for k, v in body.items() if k not in _CONFIGURATION_FIELDS}
    else:
        servers = _mapping(nameservers).get("dns")
        prefs = _mapping(preferences)
        paths = _mapping(search_paths).get("searchPaths")
        split = _split_servers(split_dns)
        unknown = {}
    unknown_prefs = {k: v for k, v in prefs.items() if k not in _PREFERENCE_FIELDS}
    if unknown_prefs:
        unknown["preferences"] = unknown_prefs
    content = {
        "nameservers": [_nameserver(s) for s in servers] if isinstance(servers, list) else None,
        "magicDNS": prefs.get("magicDNS"),
        "overrideLocalDNS": prefs.get("overrideLocalDNS"),
        "searchPaths": paths,
        "splitDNS": split,
        "extra_fields": unknown or None,
    }
    return {
        "tailnet": tailnet,
        # Hashed before the objects become text: sorted keys, whatever order they came in.
        "dns_version": content_hash(content),
        "synced_at": snapshot_time(synced_at),
        **content,
        "splitDNS": canonical_text(split),
        "extra_fields": canonical_text(unknown or None),
    }
