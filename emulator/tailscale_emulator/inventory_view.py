"""The inventory half of `Dataset`: the objects the inventory endpoints serve, for tests too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tailscale_emulator import inventory
from tailscale_emulator.device_details import device_invites, find_device, posture_attributes
from tailscale_emulator.event_types import POLICY_UPDATE, ConfigFilter
from tailscale_emulator.hashing import salt_of
from tailscale_emulator.nodes import domain_of, make_node
from tailscale_emulator.policies import PolicyVersion, policy_version
from tailscale_emulator.timefmt import to_ns

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from tailscale_emulator.dataset import DatasetSettings, TailnetConfig

JsonDict = dict[str, Any]
_POLICY_EVENTS = ConfigFilter(event=(POLICY_UPDATE,))


class InventoryView:
    """Snapshots as of `dataset_end`: equal for equal settings, whenever they are asked."""

    settings: DatasetSettings

    def tailnet(self, name: str) -> TailnetConfig:
        """The tailnet's settings; KeyError if it is not configured."""
        return self.settings.tailnets[name]

    def _config_iter(self, tailnet: str, lo: int, hi: int, flt: ConfigFilter) -> Iterator[JsonDict]:
        raise NotImplementedError

    @staticmethod
    def _interval(cfg: TailnetConfig) -> int:
        raise NotImplementedError

    def _salt_now(self, tailnet: str) -> tuple[int, int]:
        return salt_of(self.settings.seed, tailnet), to_ns(self.settings.dataset_end)

    def devices(
        self, tailnet: str, fields: str = "all", filters: Mapping[str, list[str]] | None = None
    ) -> list[JsonDict]:
        """`GET /tailnet/{tailnet}/devices`: `fields` is `all` or `default`.

        `filters` are the API's exact-match query filters (`tags=tag:ci`, `os=linux`, ...):
        several are ANDed, a repeated one on a list field means "contains all".
        """
        return list(self.iter_devices(tailnet, fields, filters))

    def iter_devices(
        self, tailnet: str, fields: str = "all", filters: Mapping[str, list[str]] | None = None
    ) -> Iterator[JsonDict]:
        """Like `devices`, made one at a time (a 50,000-device list is never held)."""
        salt, now = self._salt_now(tailnet)
        cfg = self.tailnet(tailnet)
        found = inventory.iter_devices(salt, tailnet, cfg, now, fields)
        owner = cfg.devices_shared_from
        if owner is not None and owner != tailnet:
            found = _shared_in(found, self.iter_devices(owner, fields))
        return (d for d in found if _matches(d, filters or {}))

    def device(self, tailnet: str, device_id: str, fields: str = "all") -> JsonDict | None:
        """`GET /device/{id}` by `nodeId` or legacy numeric `id`; None once deleted."""
        salt, now = self._salt_now(tailnet)
        cfg = self.tailnet(tailnet)
        place = find_device(salt, tailnet, cfg, device_id)
        if place is None:
            return None
        return inventory.device_at(salt, tailnet, cfg, place, now_ns=now, fields=fields)

    def device_attributes(self, tailnet: str, device_id: str) -> JsonDict | None:
        """`GET /device/{id}/attributes`: posture attributes and their expiries."""
        device = self.device(tailnet, device_id)
        _, now = self._salt_now(tailnet)
        return None if device is None else posture_attributes(device, now)

    def device_invites(self, tailnet: str, device_id: str) -> list[JsonDict] | None:
        """`GET /device/{id}/device-invites`: the device's share invites."""
        device = self.device(tailnet, device_id)
        _, now = self._salt_now(tailnet)
        return None if device is None else device_invites(device, now)

    def reporting_node_ids(self, tailnet: str) -> list[str]:
        """The `nodeId`s that report network flow logs, deleted devices included."""
        salt = salt_of(self.settings.seed, tailnet)
        cfg = self.tailnet(tailnet)
        return [make_node(salt, tailnet, k).node_id for k in range(cfg.network_nodes)]

    def deleted_devices(self, tailnet: str) -> list[JsonDict]:
        """Nodes seen in flow logs (as reporters or peers) but absent from the inventory:
        `nodeId`, `addresses` and `name` as the flow logs' `srcNode`/`dstNodes` carry them."""
        salt = salt_of(self.settings.seed, tailnet)
        return [n.info for n in inventory.deleted_nodes(salt, tailnet, self.tailnet(tailnet))]

    def users(self, tailnet: str, type: str = "member", role: str = "all") -> list[JsonDict]:
        """`GET /tailnet/{tailnet}/users?type=&role=` (defaults as the API: members, any role)."""
        _, now = self._salt_now(tailnet)
        everyone = inventory.users(self.devices(tailnet), tailnet, now)
        return [u for u in everyone if type in {"all", u["type"]} and role in {"all", u["role"]}]

    def keys(self, tailnet: str, key_types: tuple[str, ...] | None = None) -> list[JsonDict]:
        """`GET /tailnet/{tailnet}/keys?all=true`, optionally only some `keyType`s."""
        _, now = self._salt_now(tailnet)
        found = inventory.keys(tailnet, now)
        return [k for k in found if key_types is None or k["keyType"] in key_types]

    def dns(self, tailnet: str) -> dict[str, Any]:
        """The DNS bodies by endpoint: `nameservers`, `preferences`, `searchpaths`,
        `split-dns` and `configuration`."""
        self.tailnet(tailnet)
        return inventory.dns(tailnet)

    def policy(self, tailnet: str) -> PolicyVersion:
        """The policy file as of `dataset_end`: the `new` of the last policy update before it.

        An update hidden by a quiet period still counts as not having happened.
        """
        cfg = self.tailnet(tailnet)
        domain = domain_of(tailnet)
        every = cfg.policy_update_every
        if every <= 0:
            return policy_version(0, domain)
        interval = self._interval(cfg)
        end = to_ns(self.settings.dataset_end)
        number = ((end - 1) // interval) // every
        for candidate in range(number, number - 64, -1):
            slot = candidate * every * interval
            if next(self._config_iter(tailnet, slot, end - 1, _POLICY_EVENTS), None) is not None:
                return policy_version(candidate, domain)
        return policy_version(number, domain)


# What a shared-in device has of its owner's: the device itself, seen from elsewhere.
_SHARED_FIELDS = ("nodeId", "id", "addresses", "name", "hostname", "os", "nodeKey")


def _shared_in(found: Iterable[JsonDict], owners: Iterable[JsonDict]) -> Iterator[JsonDict]:
    """The external devices made the owner tailnet's own ones, in order, one at a time."""
    own = iter(d for d in owners if not d.get("isExternal"))
    for device in found:
        origin = next(own, None) if device.get("isExternal") else None
        same = {k: origin[k] for k in _SHARED_FIELDS if k in origin} if origin else {}
        yield {**device, **same}


def _matches(device: Mapping[str, Any], filters: Mapping[str, list[str]]) -> bool:
    for name, wanted in filters.items():
        value = device.get(name)
        if isinstance(value, list):
            if not set(wanted) <= {str(v) for v in value}:
                return False
        elif any(_scalar_text(value) != w for w in wanted):
            return False
    return True


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)
