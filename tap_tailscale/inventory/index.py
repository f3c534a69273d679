"""The device enrichment index: one devices snapshot, looked up by node id or by IP.

Built once per run and per tailnet from the `devices` listing, so its memory is
O(devices) whatever the number of flow records. It answers only what the inventory
says: an IP held by two devices (an address moved between snapshots) resolves to
nobody rather than to a guess.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class DeviceRef(NamedTuple):
    """What a connection row carries about a device. `tags` is shared: do not mutate."""

    node_id: str
    name: str | None
    tags: list[str] | None


def normalize_ip(text: str) -> str | None:
    """The canonical text of an IPv4 or IPv6 address (compressed, lower case), or None.

    Tailscale writes addresses in Go's canonical form, so this mostly returns its input;
    it makes `FD7A:115C:A1E0:0:0:0:0:1` and `fd7a:115c:a1e0::1` one key.
    """
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class DeviceIndex:
    """Devices by `nodeId` and by each of their Tailscale addresses (v4 and v6)."""

    __slots__ = ("_by_ip", "_by_node")

    def __init__(self, devices: Iterable[Mapping[str, Any]] = ()) -> None:
        self._by_node: dict[str, DeviceRef] = {}
        self._by_ip: dict[str, DeviceRef | None] = {}
        for device in devices:
            self.add(device)

    def add(self, device: Mapping[str, Any]) -> None:
        """Index one device (a streamed list is indexed as it goes by)."""
        node_id = device.get("nodeId")
        if not isinstance(node_id, str) or not node_id:
            return
        name = device.get("name")
        tags = device.get("tags")
        ref = DeviceRef(
            node_id,
            name if isinstance(name, str) else None,
            tags if isinstance(tags, list) else None,
        )
        self._by_node[node_id] = ref
        addresses = device.get("addresses")
        for address in addresses if isinstance(addresses, list) else ():
            self._add_address(address, ref)

    def _add_address(self, address: Any, ref: DeviceRef) -> None:
        ip = normalize_ip(address) if isinstance(address, str) else None
        if ip is None:
            return
        known = self._by_ip.get(ip, ref)
        # None marks an address claimed by two devices: ambiguous, so never answered.
        self._by_ip[ip] = ref if known is not None and known.node_id == ref.node_id else None

    def __len__(self) -> int:
        return len(self._by_node)

    def node(self, node_id: str | None) -> DeviceRef | None:
        """The device with this `nodeId`, or None."""
        return self._by_node.get(node_id) if node_id is not None else None

    def ip(self, ip: str | None) -> DeviceRef | None:
        """The one device holding this address, or None (unknown, external or ambiguous).

        `ip` must be normalized (normalize_ip); connection rows already are.
        """
        return self._by_ip.get(ip) if ip is not None else None

    def lookup_ip(self, text: str) -> DeviceRef | None:
        """Like `ip`, for an address in any textual form."""
        return self.ip(normalize_ip(text))
