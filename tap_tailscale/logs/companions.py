"""One read of a log window feeds every selected stream built from that log.

configuration_audit and admin_audit both come from the configuration log, and
network_flow and the per-connection streams from the network log. The first selected
stream of a log to sync (the driver) reads each window once; every later selected
stream of the same log (a companion) gets the window's entries as they stream past,
shapes them itself, writes its own records, and moves its own bookmark when the window
completes, before the driver writes the STATE that covers both. When a companion's own
turn comes, its partitions are already done. Each stream's state stays its own, so a
run with only one of them selected reads exactly as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from tap_tailscale.logs.windows import Window

Record = dict[str, Any]


class WindowOrder(Protocol):
    """Puts one window's records in emission order as they arrive (push style)."""

    def push(self, record: Record) -> Iterable[Record]:
        """Take one record; return the records now ready, in order."""
        ...

    def finish(self) -> Iterable[Record]:
        """The window ended; return every record still held."""
        ...


class ArrivalOrder:
    """Records go out as they come."""

    def push(self, record: Record) -> Iterable[Record]:
        """Return the record at once."""
        return (record,)

    def finish(self) -> Iterable[Record]:
        """Nothing is held."""
        return ()


def ordered(records: Iterable[Record], order: WindowOrder) -> Iterator[Record]:
    """Pull-style use of a WindowOrder, for the driver's own records."""
    if type(order) is ArrivalOrder:
        return iter(records)  # nothing is held or moved: no generator step per record
    return _reordered(records, order)


def _reordered(records: Iterable[Record], order: WindowOrder) -> Iterator[Record]:
    for record in records:
        yield from order.push(record)
    yield from order.finish()


class Companion(Protocol):
    """What a stream must offer to be fed by another stream's read."""

    name: str

    def shape_entry(self, entry: Any, tailnet: str, window: Window) -> list[Record]:
        """The records one API entry becomes; rejected entries are counted and give []."""
        ...

    def window_order(self) -> WindowOrder:
        """A fresh order for one window."""
        ...

    def record_key(self, record: Record) -> str:
        """The record's deterministic key."""
        ...

    def on_end_bound(self, record: Record, window: Window) -> bool:
        """True for a record on the window's end bound."""
        ...

    def write_record(self, record: Record) -> None:
        """Emit one record now."""
        ...


@dataclass
class CompanionFeed:
    """One companion's view of one window being read by the driver."""

    companion: Companion
    tailnet: str
    window: Window
    #: Keys the previous window emitted on the shared bound; they are not emitted again.
    previous_boundary: set[str]
    boundary: set[str] = field(default_factory=set)
    emitted: int = 0

    def __post_init__(self) -> None:
        self._order = self.companion.window_order()

    def add(self, entry: Any) -> None:
        """Shape one entry and write whatever records are ready."""
        for record in self.companion.shape_entry(entry, self.tailnet, self.window):
            for ready in self._order.push(record):
                self._emit(ready)

    def finish(self) -> None:
        """The window is complete: write what the order still holds."""
        for ready in self._order.finish():
            self._emit(ready)

    def _emit(self, record: Record) -> None:
        key = self.companion.record_key(record)
        if key in self.previous_boundary:
            return
        if self.companion.on_end_bound(record, self.window):
            self.boundary.add(key)
        self.emitted += 1
        self.companion.write_record(record)


@dataclass
class CompanionSet:
    """The companions of one (driver, tailnet) and their state between windows."""

    companions: list[Companion]
    tailnet: str
    _boundaries: dict[str, set[str]] = field(default_factory=dict)
    feeds: list[CompanionFeed] = field(default_factory=list)

    def start_window(self, window: Window) -> list[CompanionFeed]:
        """Fresh feeds for a window (a retried window starts over)."""
        self.feeds = [
            CompanionFeed(c, self.tailnet, window, self._boundaries.get(c.name, set()))
            for c in self.companions
        ]
        return self.feeds

    def finish_window(self) -> list[CompanionFeed]:
        """Flush every feed of the completed window and remember its boundary keys."""
        for feed in self.feeds:
            feed.finish()
            self._boundaries[feed.companion.name] = feed.boundary
        done, self.feeds = self.feeds, []
        return done


class Reader(Protocol):
    """A stream as the registry sees it: its name and whether it is selected."""

    name: str

    @property
    def selected(self) -> bool:
        """Whether the catalog selects it."""
        ...


R = TypeVar("R", bound=Reader)


class CompanionRegistry(Generic[R]):
    """The streams of each log, in sync order, and which (stream, tailnet) were fed.

    Registered once, when the tap lists its streams; during the run the driver of a
    log takes its companions for a tailnet, and a companion's own turn then finds its
    partition already read.
    """

    def __init__(self) -> None:
        self._streams: dict[str, list[R]] = {}
        self._fed: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def register(self, log_kind: str, stream: R) -> None:
        """Add a stream of one log, after the ones registered before it."""
        with self._lock:
            self._streams.setdefault(log_kind, []).append(stream)

    def was_fed(self, stream: str, tailnet: str) -> bool:
        """Whether another stream's read already fed this (stream, tailnet) this run."""
        with self._lock:
            return (stream, tailnet) in self._fed

    def take(self, log_kind: str, driver: R, tailnet: str) -> list[R]:
        """The other selected streams of the log not yet fed for `tailnet`, now fed."""
        with self._lock:
            taken = [
                stream
                for stream in self._streams.get(log_kind, [])
                if stream is not driver
                and stream.selected
                and (stream.name, tailnet) not in self._fed
            ]
            self._fed.update((stream.name, tailnet) for stream in taken)
        return taken
