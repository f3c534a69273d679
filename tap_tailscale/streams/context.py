"""What the tap hands each stream: a frozen run context and its small collaborators.

The context itself never changes after the tap builds it. What streams share during a
run lives in typed collaborators, each owning its state and its lock: the companion
registry (one read of a log feeding several streams, logs.companions), the tailnet
names (logs.tailnet_names), the device cache below, and the warnings said once.
Streams receive the context and never reach back into the tap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tap_tailscale.timeutil import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import BinaryIO

    from tap_tailscale.client import TailscaleClient
    from tap_tailscale.logs import CompanionRegistry, TailnetNames
    from tap_tailscale.report import RunReport
    from tap_tailscale.settings import Settings


@dataclass(frozen=True)
class DeviceNeeds:
    """What the selected streams need of a device list read for another stream."""

    #: The `devices` stream is selected: a list read earlier is kept for it to read.
    keep_list: bool = False
    #: A selected stream names connection peers from the device index.
    index: bool = True
    #: `devices` and `users` are both selected: a policy change's `reach_now` counts
    #: are taken on this run's snapshot.
    reach: bool = False


class DeviceCache:
    """Each tailnet's device list, read once per run and shared by the streams that use it.

    Holds the digest of each list (or why it could not be read), the list bodies kept
    for the `devices` stream, the reach snapshots, and device_posture's rows that carry
    an expiry (so posture_findings asks no device twice). Every access takes its lock.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._needs = DeviceNeeds()
        self._digests: dict[str, Any] = {}
        self._bodies: dict[str, tuple[str, BinaryIO]] = {}
        self._reach: dict[str, Any] = {}
        self._expiries: dict[str, list[dict[str, Any]]] = {}

    @property
    def needs(self) -> DeviceNeeds:
        """What the selected streams need of a device list."""
        with self._lock:
            return self._needs

    def plan(self, needs: DeviceNeeds) -> None:
        """Say, before the first stream syncs, what the selected streams need."""
        with self._lock:
            self._needs = needs

    def digest(self, tailnet: str, read: Callable[[], Any]) -> Any:
        """The tailnet's digest (or why it could not be read), read once per run."""
        with self._lock:
            if tailnet not in self._digests:
                self._digests[tailnet] = read()
            return self._digests[tailnet]

    def remember_digest(self, tailnet: str, digest: Any) -> None:
        """Keep the digest the `devices` stream built while it read the list."""
        with self._lock:
            self._digests[tailnet] = digest

    def rebuild_with_index(self, tailnet: str) -> None:
        """A digest was read without its index: forget it, and build the index next time."""
        with self._lock:
            self._digests.pop(tailnet, None)
            self._needs = replace(self._needs, index=True)

    def keep_body(self, tailnet: str, synced_at: str, spool: BinaryIO) -> None:
        """Keep a list read for another stream, for the `devices` stream to read later."""
        with self._lock:
            self._bodies[tailnet] = (synced_at, spool)

    def take_body(self, tailnet: str) -> tuple[str, BinaryIO] | None:
        """The list kept for `tailnet` (synced_at, spool), now the caller's to close."""
        with self._lock:
            return self._bodies.pop(tailnet, None)

    def reach_snapshot(self, tailnet: str, take: Callable[[], Any]) -> Any:
        """The tailnet's reach snapshot (or None), taken once per run."""
        with self._lock:
            if tailnet not in self._reach:
                self._reach[tailnet] = take()
            return self._reach[tailnet]

    def keep_posture_expiries(self, tailnet: str, rows: list[dict[str, Any]]) -> None:
        """Keep device_posture's rows that carry an expiry, as that stream emits them."""
        with self._lock:
            self._expiries[tailnet] = rows

    def posture_expiries(self, tailnet: str) -> list[dict[str, Any]] | None:
        """device_posture's expiry rows of this run, or None when it did not run."""
        with self._lock:
            return self._expiries.get(tailnet)

    def close_kept_bodies(self) -> None:
        """Close device lists kept for a `devices` stream that did not read them.

        It skips a snapshot that is still fresh, or stops early; the spool is a file.
        """
        with self._lock:
            for _synced_at, spool in self._bodies.values():
                spool.close()
            self._bodies.clear()


class Warnings:
    """Causes already warned about, so one cause (a missing scope) is one warning."""

    def __init__(self) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def first(self, cause: str) -> bool:
        """True the first time a cause is to be warned about in this run."""
        with self._lock:
            if cause in self._said:
                return False
            self._said.add(cause)
            return True


@dataclass(frozen=True)
class RunContext:
    """Shared by every stream of one tap instance; built once, never reassigned."""

    settings: Settings
    report: RunReport
    client: TailscaleClient
    companions: CompanionRegistry[Any]
    names: TailnetNames
    devices: DeviceCache = field(default_factory=DeviceCache)
    warnings: Warnings = field(default_factory=Warnings)
    #: The wall clock inventory cadence is measured by; injectable in tests.
    wall_clock: Callable[[], datetime] = utc_now
