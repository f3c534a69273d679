"""The planted scenario (`EmulatorConfig.planted`, `--plant-detections`): quiet, regular
background logs with the patterns of the dbt project's TS-H rules planted in them.

The background: two administrators change things on weekdays between 10:00 and 17:00 UTC
(inside the dbt project's default working hours), and four nodes report the same traffic
every hour. Into it go the cases of `EXPECTED` (rule ID -> what the rule must name), placed
on the last weekdays before `dataset_start + PHASE_TWO_AFTER`, after a week of learning.
Events are anchored at `dataset_start`, so a second load with a later `dataset_end` sees the
same events plus later background; the inventory comes from `planted_inventory`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from tailscale_emulator import planted_inventory as inv
from tailscale_emulator.dataset import Dataset
from tailscale_emulator.events import policy_update_bodies
from tailscale_emulator.hashing import salt_of
from tailscale_emulator.timefmt import NS_PER_SECOND, ZERO_TIME, format_go, to_ns

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tailscale_emulator.dataset import DatasetSettings
    from tailscale_emulator.event_types import ConfigFilter

JsonDict = dict[str, Any]
PHASE_TWO_AFTER = timedelta(days=14)
_HOUR = 3600 * NS_PER_SECOND
_ALICE = {
    "id": "uPLa1iceCNTRL",
    "type": "USER",
    "loginName": "alice@example.com",
    "displayName": "Alice Admin",
}
_DANA = {
    "id": "uPLdanaCNTRL",
    "type": "USER",
    "loginName": "dana@example.com",
    "displayName": "Dana Ops",
}
_MALLORY = {
    "id": "uPLma11oCNTRL",
    "type": "USER",
    "loginName": "mallory@example.com",
    "displayName": "Mallory New",
}
WEB, DB, BUILD, EXIT = inv.REPORTERS
# What each TS-H rule must find in the planted data, and nothing else.
EXPECTED: dict[str, list[str]] = {
    "TS-H-001": ["actor:mallory@example.com", "origin:SUPPORT_REQUEST"],
    "TS-H-002": ["alice@example.com", "alice@example.com"],
    "TS-H-003": ["dana@example.com"],
    "TS-H-004": ["kPLfor1CNTRL", "reusable:4"],
    "TS-H-005": ["acl:6"],
    "TS-H-006": ["kPLexp1CNTRL"],
    "TS-H-007": ["db-1"],
    "TS-H-008": ["partner-laptop"],
    "TS-H-009": ["unknown-pi"],
    "TS-H-010": ["lock-fail"],
    "TS-H-011": ["legacy-nas"],
    "TS-H-012": ["old-kiosk"],
    "TS-H-013": ["exit-1"],
    "TS-H-014": ["db-1"],
    "TS-H-015": ["build-1"],
    "TS-H-016": ["web-1"],
}


def dataset_for(settings: DatasetSettings) -> Dataset:
    """The emulator's dataset: planted when the configuration asks for it."""
    return PlantedDataset(settings) if getattr(settings, "planted", False) else Dataset(settings)


def _day_start(ns: int) -> int:
    return ns - ns % (24 * _HOUR)


def _weekday(ns: int) -> int:
    return datetime.fromtimestamp(ns // NS_PER_SECOND, UTC).weekday()


def _stamp(ns: int) -> str:
    return format_go(ns)


def _event(t: int, origin: str, actor: JsonDict, target: JsonDict, action: str) -> JsonDict:
    group = hashlib.sha256(f"{t}:{target.get('id')}:{action}".encode()).hexdigest()[:32]
    return {
        "eventTime": _stamp(t),
        "type": "CONFIG",
        "deferredAt": ZERO_TIME,
        "eventGroupID": group,
        "origin": origin,
        "actor": actor,
        "target": target,
        "action": action,
    }


def _rename(t: int, actor: JsonDict, origin: str, node: inv.PlantedNode, n: int) -> JsonDict:
    target = {"id": node.node_id, "name": node.host, "type": "NODE", "property": "MACHINE_NAME"}
    ev = _event(t, origin, actor, target, "UPDATE")
    ev |= {"old": f"{node.host}-{n}", "new": f"{node.host}-{n + 1}"}
    return ev


def plant_days(start: int) -> list[int]:
    """The last three weekdays (midnight, ns) whose 10:00-17:00 ends before phase two."""
    cutoff = start + int(PHASE_TWO_AFTER.total_seconds()) * NS_PER_SECOND - _HOUR
    day, found = _day_start(cutoff), list[int]()
    while len(found) < 3:
        if _weekday(day) < 5 and day + 17 * _HOUR <= cutoff:
            found.append(day)
        day -= 24 * _HOUR
    return found


def _planted_events(tailnet: str, start: int, salt: int) -> list[JsonDict]:
    latest, middle, earliest = plant_days(start)
    events = [
        _event(latest + 11 * _HOUR, "CONFIG_API", _MALLORY, _user_target(tailnet), "UPDATE")
        | {"old": "member", "new": "admin"},
        _rename(latest + 15 * _HOUR, _DANA, "SUPPORT_REQUEST", WEB, 99),
    ]
    night = earliest + 3 * _HOUR
    events += [
        _rename(night + m * 60 * NS_PER_SECOND, _ALICE, "ADMIN_CONSOLE", DB, m) for m in (0, 5)
    ]
    for n in range(6):  # six credentials revoked within one hour: TS-H-003
        key = {"id": f"kPLrv{n:02d}CNTRL", "name": "", "type": "API_KEY"}
        events.append(
            _event(
                middle + 14 * _HOUR + n * 300 * NS_PER_SECOND, "ADMIN_CONSOLE", _DANA, key, "REVOKE"
            )
        )
    for n in range(6):  # six policy updates in one day: TS-H-005
        body = dict(policy_update_bodies(salt, tailnet, n + 1)[0])
        body |= {"actor": _ALICE, "origin": "ADMIN_CONSOLE"}
        ev = _event(earliest + (10 + n) * _HOUR + 20 * 60 * NS_PER_SECOND, "", _ALICE, {}, "")
        events.append(ev | body)
    return events


def _user_target(tailnet: str) -> JsonDict:
    return {
        "id": "uPLma11oCNTRL",
        "name": "mallory@example.com",
        "type": "USER",
        "property": "USER_ROLE",
    }


@cache
def config_timeline(tailnet: str, start: int, end: int, salt: int) -> tuple[JsonDict, ...]:
    """Every configuration event in `[start, end)`, by time."""
    events = _planted_events(tailnet, start, salt)
    day, n = _day_start(start), 0
    while day < end:
        for hour in range(10, 17) if _weekday(day) < 5 else ():
            events.append(
                _rename(day + hour * _HOUR + 600 * NS_PER_SECOND, _ALICE, "ADMIN_CONSOLE", BUILD, n)
            )
            events.append(
                _rename(day + hour * _HOUR + 2400 * NS_PER_SECOND, _DANA, "CONFIG_API", WEB, n)
            )
            n += 1
        day += 24 * _HOUR
    found = [e for e in events if start <= _ns_of(e["eventTime"]) < end]
    return tuple(sorted(found, key=lambda e: (_ns_of(e["eventTime"]), e["eventGroupID"])))


def _ns_of(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return to_ns(moment)


def _virtual(node: inv.PlantedNode, peer_ip: str, port: int, tx: int, rx: int) -> JsonDict:
    return {
        "proto": 6,
        "src": f"{node.ipv4}:40000",
        "dst": f"{peer_ip}:{port}",
        "txPkts": tx // 1000 + 1,
        "txBytes": tx,
        "rxPkts": rx // 1000 + 1,
        "rxBytes": rx,
    }


def _physical(peer: inv.PlantedNode, dst: str, tx: int) -> JsonDict:
    return {
        "src": f"{peer.ipv4}:0",
        "dst": dst,
        "txPkts": tx // 1200 + 1,
        "txBytes": tx,
        "rxPkts": tx // 1200 + 1,
        "rxBytes": tx,
    }


def _report(k: int, hour: int, spikes: Mapping[tuple[int, int], str]) -> JsonDict:
    node, spike = inv.REPORTERS[k], spikes.get((k, hour), "")
    peers = [inv.REPORTERS[(k + 1) % 4], inv.REPORTERS[(k + 2) % 4]]
    wobble = (hour * 7919 + k * 104729) % 50_000
    body: JsonDict = {
        "virtualTraffic": [
            _virtual(node, p.ipv4, 443, 1_000_000 + wobble, 2_000_000) for p in peers
        ]
    }
    physical = [_physical(p, p.public, 1_100_000 + wobble) for p in peers]
    if node is WEB:
        derp = 300_000_000 if spike == "derp" else 40_000 + wobble  # TS-H-016
        physical.append(_physical(peers[0], "127.3.3.40:5", derp))
    body["physicalTraffic"] = physical
    if node is EXIT:
        egress = 500_000_000 if spike == "exit" else 2_000_000 + wobble  # TS-H-013
        body["exitTraffic"] = [
            {
                "proto": 6,
                "src": f"{node.ipv4}:41000",
                "dst": "198.51.100.7:443",
                "txPkts": egress // 1200,
                "txBytes": egress,
                "rxPkts": 900,
                "rxBytes": 1_000_000,
            }
        ]
    if spike == "large":  # TS-H-014: one transfer far above the node's usual connection
        body["virtualTraffic"].append(_virtual(node, WEB.ipv4, 5432, 5_000_000_000, 9_000_000))
    if spike == "fanout":  # TS-H-015: twelve peers the node never talked to
        body["virtualTraffic"] += [
            _virtual(node, f"100.70.9.{n}", 22, 600, 400) for n in range(1, 13)
        ]
    return body


@cache
def network_timeline(tailnet: str, start: int, end: int) -> tuple[tuple[int, JsonDict], ...]:
    """(logged ns, record) of every report in `[start, end)`: each node once an hour."""
    latest, middle, earliest = plant_days(start)
    spikes = {
        (3, (middle + 13 * _HOUR) // _HOUR): "exit",
        (1, (latest + 12 * _HOUR) // _HOUR): "large",
        (2, (earliest + 14 * _HOUR) // _HOUR): "fanout",
        (0, (middle + 11 * _HOUR) // _HOUR): "derp",
    }
    found: list[tuple[int, JsonDict]] = []
    for hour in range(start // _HOUR, end // _HOUR + 1):
        for k, node in enumerate(inv.REPORTERS):
            logged = hour * _HOUR + (k + 1) * 60 * NS_PER_SECOND
            if not start <= logged < end:
                continue
            record = {
                "logged": _stamp(logged),
                "nodeId": node.node_id,
                "start": _stamp(logged - 6 * NS_PER_SECOND),
                "end": _stamp(logged - NS_PER_SECOND),
            }
            found.append((logged, record | _report(k, hour, spikes)))
    return tuple(found)


class PlantedDataset(Dataset):
    """The planted scenario in place of the hashed synthetic logs and inventory."""

    def _span(self) -> tuple[int, int]:
        return to_ns(self.settings.dataset_start), to_ns(self.settings.dataset_end)

    def _phase_two(self) -> bool:
        return self.settings.dataset_end > self.settings.dataset_start + PHASE_TWO_AFTER

    def _config_iter(self, tailnet: str, lo: int, hi: int, flt: ConfigFilter) -> Iterator[JsonDict]:
        self.tailnet(tailnet)
        start, end = self._span()
        salt = salt_of(self.settings.seed, tailnet)
        found = config_timeline(tailnet, start, end, salt)
        return iter(
            [e for e in found if lo <= _ns_of(e["eventTime"]) <= hi and (not flt or flt.matches(e))]
        )

    def _network_iter(self, tailnet: str, lo: int, hi: int) -> Iterator[JsonDict]:
        self.tailnet(tailnet)
        start, end = self._span()
        return iter([r for t, r in network_timeline(tailnet, start, end) if lo <= t <= hi])

    def devices(
        self, tailnet: str, fields: str = "all", filters: Mapping[str, list[str]] | None = None
    ) -> list[JsonDict]:
        self.tailnet(tailnet)
        return inv.devices(tailnet, self._span(), self._phase_two(), fields)

    def iter_devices(
        self, tailnet: str, fields: str = "all", filters: Mapping[str, list[str]] | None = None
    ) -> Iterator[JsonDict]:
        # The devices route streams its answer: the planted few are its source too.
        return iter(self.devices(tailnet, fields, filters))

    def reporting_node_ids(self, tailnet: str) -> list[str]:
        return [node.node_id for node in inv.REPORTERS]

    def deleted_devices(self, tailnet: str) -> list[JsonDict]:
        return []

    def users(self, tailnet: str, type: str = "member", role: str = "all") -> list[JsonDict]:
        self.tailnet(tailnet)
        everyone = inv.users(tailnet, *self._span())
        return [u for u in everyone if type in {"all", u["type"]} and role in {"all", u["role"]}]

    def keys(self, tailnet: str, key_types: tuple[str, ...] | None = None) -> list[JsonDict]:
        self.tailnet(tailnet)
        found = inv.keys(self._span()[0])
        return [k for k in found if key_types is None or k["keyType"] in key_types]
