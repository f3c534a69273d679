"""What the tap hands each stream: a frozen run context and its small collaborators.

The context itself never changes after the tap builds it. What streams share during a
run lives in typed collaborators, each owning its state and its lock: the companion
registry (one read of a log feeding several streams, logs.companions), the tailnet
names (logs.tailnet_names), the device cache below, and the warnings said once.
Streams receive the context and never reach back into the tap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_tailscale.timeutil import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

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
    an expiry (so posture_findings asks no device twice).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.needs = DeviceNeeds()
        self.digests: dict[str, Any] = {}
        #: tailnet -> (synced_at, spool), for a `devices` stream that reads it later.
        self.bodies: dict[str, Any] = {}
        self.reach_snapshots: dict[str, Any] = {}
        self.posture_expiries: dict[str, list[dict[str, Any]]] = {}

    def plan(self, needs: DeviceNeeds) -> None:
        """Say, before the first stream syncs, what the selected streams need."""
        with self.lock:
            self.needs = needs

    def need_index(self) -> None:
        """A list read without its index is being read again: build the index this time."""
        with self.lock:
            self.needs = DeviceNeeds(self.needs.keep_list, True, self.needs.reach)

    def close_kept_bodies(self) -> None:
        """Close device lists kept for a `devices` stream that did not read them.

        It skips a snapshot that is still fresh, or stops early; the spool is a file.
        """
        with self.lock:
            for _synced_at, spool in self.bodies.values():
                spool.close()
            self.bodies.clear()


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
