"""What the tap hands each stream: settings, the run report, and shared connections.

Streams receive this object and never reach back into the tap. The authenticator and
the session are built on first use, so discovery works with no credentials at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_tailscale.timeutil import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future
    from datetime import datetime

    import requests

    from tap_tailscale.auth import TailscaleAuthenticator
    from tap_tailscale.report import RunReport
    from tap_tailscale.settings import Settings


@dataclass
class StreamServices:
    """Shared by every stream of one tap instance."""

    settings: Settings
    report: RunReport
    authenticator: Callable[[], TailscaleAuthenticator]
    session: Callable[[], requests.Session]
    secrets: Callable[[], list[str]]
    #: Monotonic seconds, for request deadlines; injectable in tests.
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: The wall clock inventory cadence is measured by; injectable in tests.
    wall_clock: Callable[[], datetime] = utc_now
    #: The streams of each log (configuration, network), in sync order.
    views: dict[str, list[Any]] = field(default_factory=dict)
    #: (stream, tailnet) pairs already read this run together with another stream.
    fed: set[tuple[str, str]] = field(default_factory=set)
    #: Each tailnet's device digest (device_listing.DeviceDigest), read once per run, or
    #: why the list could not be read.
    device_digests: dict[str, Any] = field(default_factory=dict)
    #: Whether the `devices` stream is selected: a list read earlier for another stream
    #: is then kept (`device_bodies`: tailnet -> (synced_at, spool)) for it to read.
    device_list_wanted: bool = False
    #: Whether a selected stream names connection peers from the device index.
    device_index_wanted: bool = True
    device_bodies: dict[str, Any] = field(default_factory=dict)
    #: device_posture's rows that carry an expiry (`nodeId`, `expiries`), kept as that
    #: stream emits them so posture_findings asks no device twice (tailnet -> rows).
    posture_expiries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Whether `devices` and `users` are both selected: a policy change's `reach_now`
    #: counts are then taken on this run's snapshot (reach.ReachSnapshot per tailnet).
    reach_wanted: bool = False
    reach_snapshots: dict[str, Any] = field(default_factory=dict)
    #: Causes already warned about, so one cause (a missing scope) is one warning.
    warned: set[str] = field(default_factory=set)
    #: Whether the API knows each tailnet, once asked (None: it could not tell).
    tailnet_checks: dict[str, bool | None] = field(default_factory=dict)
    #: The tailnet name the API reported for each configured tailnet (`-` resolved).
    tailnet_names: dict[str, str] = field(default_factory=dict)
    #: Tailnets whose name was asked for once already (and is not asked for again).
    names_asked: set[str] = field(default_factory=set)
    #: Names still being asked for while the first windows are read; merged on first use.
    tailnet_names_on_the_way: Future[dict[str, str]] | None = None

    def first_warning(self, cause: str) -> bool:
        """True the first time a cause is to be warned about in this run."""
        if cause in self.warned:
            return False
        self.warned.add(cause)
        return True

    def tailnet_name(self, tailnet: str) -> str:
        """The name records carry for a configured tailnet (waits for one on the way)."""
        if self.tailnet_names_on_the_way is not None:
            on_the_way, self.tailnet_names_on_the_way = self.tailnet_names_on_the_way, None
            self.tailnet_names.update(on_the_way.result())
        return self.tailnet_names.get(tailnet, tailnet)

    def close_kept_bodies(self) -> None:
        """Close device lists kept for a `devices` stream that did not read them.

        It skips a snapshot that is still fresh, or stops early; the spool is a file.
        """
        for _synced_at, spool in self.device_bodies.values():
            spool.close()
        self.device_bodies.clear()
