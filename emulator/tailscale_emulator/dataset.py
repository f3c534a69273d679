"""Deterministic synthetic Tailscale logs, generated per window by arithmetic.

Nothing is stored: event `i` of a tailnet sits in the time slot
`[i * interval, (i + 1) * interval)` counted from the Unix epoch, and everything about it
comes from a 64-bit hash of `(seed, tailnet, i)`. Any window can therefore be produced
lazily and two windows agree on the events they share, however large the dataset is.

Payload bodies (actor, target, old/new, traffic arrays) repeat with a fixed period and are
cached, so the returned dicts share nested objects: treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from tailscale_emulator.event_types import ConfigFilter
from tailscale_emulator.events import (
    CONFIG_PERIOD,
    OWN_GROUP,
    config_bodies,
    policy_update_bodies,
)
from tailscale_emulator.hashing import GOLDEN, M64, salt_of
from tailscale_emulator.inventory_view import InventoryView
from tailscale_emulator.nodes import make_node
from tailscale_emulator.timefmt import (
    NS_PER_SECOND,
    ZERO_TIME,
    format_go,
    minute_prefix,
    second_prefix,
    to_ns,
)
from tailscale_emulator.traffic import NETWORK_PERIOD, network_body

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import datetime

JsonDict = dict[str, Any]
T = TypeVar("T")

CONFIG_VERSION = "1.1"
# eventTime precision, as Go trims it: mostly microseconds, some nanoseconds, some
# milliseconds or centiseconds, some whole seconds (truncation step in ns).
_TRIM = (1000,) * 14 + (1,) * 2 + (1_000_000, 10_000_000, NS_PER_SECOND, NS_PER_SECOND)


@dataclass
class TailnetConfig:
    """How one emulated tailnet behaves and how dense its logs are."""

    plan_has_flow_logs: bool = True
    flow_logs_enabled: bool = True
    config_event_interval_seconds: float = 900
    network_nodes: int = 3
    network_interval_seconds: float = 300
    traffic_items: int = 3
    quiet_periods: list[tuple[datetime, datetime]] = field(default_factory=list)
    # Every Nth audit operation is a policy update (`TAILNET.UPDATE.ACL`); 0 = none.
    policy_update_every: int = 24
    # Inventory: the last N reporting nodes are deleted devices (in flows, not inventory),
    # N more devices never report flows, and N devices are shared in from elsewhere.
    deleted_nodes: int = 1
    idle_devices: int = 1
    external_devices: int = 1
    # When set, the inventory lists this many devices in all (idle devices fill it up).
    inventory_devices: int | None = None
    # The shared-in devices are this tailnet's own devices, listed by both tailnets with
    # the same nodeId (as the live API does); None: from a tailnet the emulator lacks.
    devices_shared_from: str | None = None
    # A few traffic counters past 2**53, up to the uint64 maximum: hard cases for tests.
    # Off by default, so the demo's top talkers have the sizes real tailnets show.
    huge_counters: bool = False


class DatasetSettings(Protocol):
    """The part of the emulator configuration that decides the data (read live)."""

    @property
    def dataset_start(self) -> datetime: ...

    @property
    def dataset_end(self) -> datetime: ...

    @property
    def tailnets(self) -> Mapping[str, TailnetConfig]: ...

    @property
    def seed(self) -> int: ...

    @property
    def inclusive_end(self) -> bool: ...


class Dataset(InventoryView):
    """The synthetic logs of every configured tailnet, generated window by window.

    Reads `settings` live, so tests may change quiet periods or rates between requests.
    Bounds: `start <= t`, and `t <= end` (or `t < end` when `inclusive_end` is false), where
    `t` is `eventTime` (configuration) or `logged` (network). Only times in
    `[dataset_start, dataset_end)` exist.
    """

    def __init__(self, settings: DatasetSettings) -> None:
        self.settings = settings
        self._config_cache: dict[tuple[int, str, int], list[tuple[JsonDict, ...] | None]] = {}
        self._network_cache: dict[tuple[int, str, int, int, bool], list[JsonDict | None]] = {}

    # -- public API --------------------------------------------------------------------

    def configuration_events(
        self,
        tailnet: str,
        start: datetime,
        end: datetime,
        *,
        actor: Iterable[str] = (),
        target: Iterable[str] = (),
        event: Iterable[str] = (),
    ) -> Iterator[JsonDict]:
        """Configuration audit events in the window, chronological, as the API returns them."""
        flt = ConfigFilter(tuple(actor), tuple(target), tuple(event))
        return self.configuration_events_ns(tailnet, to_ns(start), to_ns(end), flt)

    def network_logs(self, tailnet: str, start: datetime, end: datetime) -> Iterator[JsonDict]:
        """Network flow log records whose `logged` falls in the window, chronological."""
        return self.network_logs_ns(tailnet, to_ns(start), to_ns(end))

    def all_configuration_events(self, tailnet: str) -> Iterator[JsonDict]:
        """Every configuration event in `[dataset_start, dataset_end)`."""
        lo, hi = self._range()
        return self._config_iter(tailnet, lo, hi - 1, ConfigFilter())

    def all_network_logs(self, tailnet: str) -> Iterator[JsonDict]:
        """Every network record in `[dataset_start, dataset_end)`."""
        lo, hi = self._range()
        return self._network_iter(tailnet, lo, hi - 1)

    def configuration_events_ns(
        self, tailnet: str, start_ns: int, end_ns: int, flt: ConfigFilter | None = None
    ) -> Iterator[JsonDict]:
        """Like `configuration_events`, with epoch-nanosecond bounds."""
        lo, hi = self._bounds(start_ns, end_ns)
        return self._config_iter(tailnet, lo, hi, flt or ConfigFilter())

    def network_logs_ns(self, tailnet: str, start_ns: int, end_ns: int) -> Iterator[JsonDict]:
        """Like `network_logs`, with epoch-nanosecond bounds."""
        lo, hi = self._bounds(start_ns, end_ns)
        return self._network_iter(tailnet, lo, hi)

    # -- generation --------------------------------------------------------------------

    def _range(self) -> tuple[int, int]:
        return to_ns(self.settings.dataset_start), to_ns(self.settings.dataset_end)

    def _bounds(self, start_ns: int, end_ns: int) -> tuple[int, int]:
        """The inclusive nanosecond range `[lo, hi]` a window may return."""
        ds_lo, ds_hi = self._range()
        hi = end_ns if self.settings.inclusive_end else end_ns - 1
        return max(start_ns, ds_lo), min(hi, ds_hi - 1)

    @staticmethod
    def _interval(cfg: TailnetConfig) -> int:
        return max(1, round(cfg.config_event_interval_seconds * NS_PER_SECOND))

    def _quiet(self, tailnet: str) -> list[tuple[int, int]]:
        return [(to_ns(a), to_ns(b)) for a, b in self.tailnet(tailnet).quiet_periods]

    def _config_memo(
        self, salt: int, tailnet: str, nodes: int
    ) -> list[tuple[JsonDict, ...] | None]:
        # Payloads repeat every CONFIG_PERIOD operations; index a flat list by slot.
        memo_key = (salt, tailnet, nodes)
        memo = self._config_cache.get(memo_key)
        if memo is None:
            if len(self._config_cache) >= 8:
                self._config_cache.clear()
            memo = self._config_cache[memo_key] = [None] * CONFIG_PERIOD
        return memo

    def _config_iter(self, tailnet: str, lo: int, hi: int, flt: ConfigFilter) -> Iterator[JsonDict]:
        # Validate eagerly so an unknown tailnet fails at the call, not at the first next().
        cfg = self.tailnet(tailnet)
        return self._config_gen(tailnet, cfg, self._interval(cfg), lo=lo, hi=hi, flt=flt)

    def _config_gen(
        self,
        tailnet: str,
        cfg: TailnetConfig,
        interval: int,
        *,
        lo: int,
        hi: int,
        flt: ConfigFilter,
    ) -> Iterator[JsonDict]:
        # Hot loop (benchmarks pull 100k+ events per window): hashing and time formatting
        # are inlined because a Python call costs as much as the work it wraps.
        if hi < lo:
            return
        salt = salt_of(self.settings.seed, tailnet)
        quiet = self._quiet(tailnet)
        filtered = bool(flt)
        span = max(1, interval * 4 // 5)
        nodes = cfg.network_nodes
        memo = self._config_memo(salt, tailnet, nodes)
        policy_every = max(cfg.policy_update_every, 0)
        i = lo // interval - 1
        while i * interval <= hi:
            slot = i * interval
            x = (salt ^ (i * GOLDEN)) & M64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
            h = x ^ (x >> 31)
            t = slot + h % span
            trimmed = t - t % _TRIM[(h >> 40) % len(_TRIM)]
            if trimmed >= slot:  # coarser precision must not move it to the previous slot
                t = trimmed
            i += 1
            if t < lo or t > hi or (quiet and any(a <= t < b for a, b in quiet)):
                continue
            if policy_every and (i - 1) % policy_every == 0:
                bodies = policy_update_bodies(salt, tailnet, (i - 1) // policy_every)
            else:
                r = (i - 1) % CONFIG_PERIOD
                bodies = memo[r] or _remember(memo, r, config_bodies(salt, tailnet, r, nodes))
            secs, frac = divmod(t, NS_PER_SECOND)
            minute, sec = divmod(secs, 60)
            if frac:
                event_time = f"{minute_prefix(minute)}{sec:02d}.{frac:09d}".rstrip("0") + "Z"
            else:
                event_time = f"{minute_prefix(minute)}{sec:02d}Z"
            group = "%016x%016x" % (h, (h * 0xD6E8FEB86659FD93) & M64)  # noqa: UP031 - fastest
            deferred = ZERO_TIME
            if (h >> 48) % 13 == 0:
                deferred = format_go(t - 1_000_000 * (1 + (h >> 52) % 900))
            # Exported and streamed events carry when Tailscale logged them, just after.
            logged = format_go(t + 100_000_000 + (h >> 20) % 2_900_000_000)
            for body in bodies:
                ev: JsonDict = {
                    "logged": logged,
                    "eventTime": event_time,
                    "type": "CONFIG",
                    "deferredAt": deferred,
                    "eventGroupID": group,
                }
                ev.update(body)
                if ev["eventGroupID"] == OWN_GROUP:
                    ev["eventGroupID"] = "%016x%016x" % (h ^ GOLDEN, (h * GOLDEN) & M64)  # noqa: UP031
                if not filtered or flt.matches(ev):
                    yield ev

    def _network_iter(self, tailnet: str, lo: int, hi: int) -> Iterator[JsonDict]:
        cfg = self.tailnet(tailnet)
        return self._network_gen(tailnet, cfg, lo, hi)

    def _network_memo(
        self, salt: int, tailnet: str, nodes: int, items: int, huge: bool
    ) -> list[JsonDict | None]:
        # Payloads repeat every NETWORK_PERIOD reports per node; a flat list indexed by
        # (node, report % period) is the cheapest memo lookup in the hot loop.
        memo_key = (salt, tailnet, nodes, items, huge)
        bodies = self._network_cache.get(memo_key)
        if bodies is None:
            if len(self._network_cache) >= 8:
                self._network_cache.clear()
            bodies = [None] * (nodes * NETWORK_PERIOD)
            self._network_cache[memo_key] = bodies
        return bodies

    def _network_gen(
        self, tailnet: str, cfg: TailnetConfig, lo: int, hi: int
    ) -> Iterator[JsonDict]:
        # The hottest loop: hashing and timestamp formatting are inlined, as in _config_gen.
        nodes = cfg.network_nodes
        if hi < lo or nodes <= 0:
            return
        salt = salt_of(self.settings.seed, tailnet)
        quiet = self._quiet(tailnet)
        period = max(nodes, round(cfg.network_interval_seconds * NS_PER_SECOND))
        stagger = period // nodes
        jitter_span = max(1, stagger // 2)
        sample_len = min(period, 5 * NS_PER_SECOND)
        node_ids = [make_node(salt, tailnet, k).node_id for k in range(nodes)]
        items = cfg.traffic_items
        huge = cfg.huge_counters
        bodies = self._network_memo(salt, tailnet, nodes, items, huge)
        fmt = second_prefix
        j = lo // period - 1
        while j * period <= hi:
            base = j * period
            r = j % NETWORK_PERIOD
            prev_t = 0
            idx = j * nodes
            for k in range(nodes):
                x = (salt ^ ((idx + k) * GOLDEN)) & M64
                x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
                x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
                h = x ^ (x >> 31)
                t = base + k * stagger + h % jitter_span
                if (h >> 44) & 3:
                    t -= t % 1000  # `logged` is mostly microseconds, now and then nanoseconds
                # Now and then two nodes report in the same instant, so `logged` is no key.
                if k & 1 and (h >> 48) & 7 == 0:
                    t = prev_t
                prev_t = t
                if t < lo or t > hi or (quiet and any(a <= t < b for a, b in quiet)):
                    continue
                m = k * NETWORK_PERIOD + r
                body = bodies[m] or _remember(
                    bodies,
                    m,
                    network_body(salt, tailnet, (k, r), nodes, items, huge_counters=huge),
                )
                end = t - 20_000_000 - (h >> 20) % 780_000_000
                start = end - sample_len + (h >> 30) % 4_000_000
                secs, frac = divmod(t, NS_PER_SECOND)
                logged = (
                    f"{fmt(secs)}.{frac:09d}Z"
                    if frac % 1000
                    else f"{fmt(secs)}.{frac // 1000:06d}Z"
                )
                secs, frac = divmod(end, NS_PER_SECOND)
                en = f"{fmt(secs)}.{frac:09d}".rstrip("0") + "Z" if frac else fmt(secs) + "Z"
                secs, frac = divmod(start, NS_PER_SECOND)
                st = f"{fmt(secs)}.{frac:09d}".rstrip("0") + "Z" if frac else fmt(secs) + "Z"
                rec: JsonDict = {"logged": logged, "nodeId": node_ids[k], "start": st, "end": en}
                rec.update(body)
                yield rec
            j += 1


def _remember(memo: list[T | None], index: int, value: T) -> T:
    """Store a computed payload in its memo slot and return it."""
    memo[index] = value
    return value
