"""The device list, streamed: one device at a time, never the whole list.

`GET /tailnet/{t}/devices` has no pagination, so a 50,000-device tailnet answers in one
body of about 100 MB; parsed whole it held 380 MiB. It is read like a log body instead
(`parsing.iter_log_entries` on its `devices` array), so memory stays flat whatever the
tailnet's size. What other streams need of a snapshot is kept in a `DeviceDigest`, a
few hundred bytes a device: the index that names connection peers, and the node ids
the per-device streams ask about. The first stream of a run to read the list leaves the
digest for the others; if that is not the `devices` stream and `devices` is selected, it
also leaves the body in a spool for it, so a run reads the list once.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_tailscale.client import Snapshot
from tap_tailscale.errors import (
    PARTITION_FAILURES,
    RejectedEntryError,
)
from tap_tailscale.inventory import DeviceIndex
from tap_tailscale.logs import iter_log_entries, new_spool
from tap_tailscale.policy import DeviceFacts, device_facts
from tap_tailscale.streams.inventory_fetch import DEVICES_SCOPE, open_inventory

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

    from tap_tailscale.streams.context import RunContext

logger = logging.getLogger(__name__)

#: What reading the device list can fail with (the stream reports it; enrichment warns).


@dataclass
class DeviceDigest:
    """What other streams need of one devices snapshot, small at any tailnet size."""

    synced_at: str
    #: Names for connection rows; None when no connection stream is selected (it is
    #: most of the digest's memory).
    index: DeviceIndex | None = field(default_factory=DeviceIndex)
    #: Every listed device's `nodeId`, in list order (shared-in devices included).
    node_ids: list[str] = field(default_factory=list)
    #: Owner, tags and addresses of each device, for a policy change's counts; None
    #: unless `devices` and `users` are both selected.
    facts: list[DeviceFacts] | None = None

    @classmethod
    def for_run(cls, run: RunContext, synced_at: str) -> DeviceDigest:
        """An empty digest holding what this run's selected streams need."""
        index = DeviceIndex() if run.devices.needs.index else None
        return cls(synced_at, index, facts=[] if run.devices.needs.reach else None)

    def add(self, device: Any) -> None:
        """Take in one listed device; a malformed one adds nothing."""
        try:
            node_id = device.get("nodeId") if hasattr(device, "get") else None
            if isinstance(node_id, str) and node_id:
                if self.index is not None:
                    self.index.add(device)
                self.node_ids.append(node_id)
                facts = device_facts(device) if self.facts is not None else None
                if facts is not None and self.facts is not None:
                    self.facts.append(facts)
        except RejectedEntryError:  # an unreadable entry: the devices stream counts it
            return


@dataclass
class DeviceListing:
    """An open device list: when it was taken, and its devices as they are parsed."""

    synced_at: str
    devices: Iterator[Any]


@contextmanager
def open_device_list(
    run: RunContext, tailnet: str, *, keep: BinaryIO | None = None
) -> Iterator[DeviceListing]:
    """Stream the tailnet's devices (`fields=all`); raise PARTITION_FAILURES.

    A body kept earlier this run for the `devices` stream is read instead of asking
    again. With `keep`, the body is also copied there as it is read.
    """
    kept = run.devices.take_body(tailnet)
    if kept is not None:
        synced_at, spool = kept
        with spool:
            yield DeviceListing(synced_at, _devices(run, spool))
        return
    with open_inventory(
        run,
        f"tailnet/{tailnet}/devices",
        stream="devices",
        scope=DEVICES_SCOPE,
        params={"fields": "all"},
    ) as body:
        synced_at = Snapshot(b"", body.headers).taken_at
        source: Any = body if keep is None else _Tee(body, keep)
        yield DeviceListing(synced_at, _devices(run, source))


def _devices(run: RunContext, body: Any) -> Iterator[Any]:
    return iter_log_entries(
        body,
        max_entry_bytes=run.settings.max_entry_bytes,
        array="devices",
        optional=True,  # as before: a body without `devices` lists none
    )


class _Tee:
    """A body that copies what is read from it into a spool."""

    def __init__(self, body: Any, spool: BinaryIO) -> None:
        self._body = body
        self._spool = spool

    def read(self, size: int = -1, decode_content: bool = True) -> bytes:
        chunk: bytes = self._body.read(size, decode_content=decode_content)
        self._spool.write(chunk)
        return chunk


def device_digest(run: RunContext, tailnet: str) -> DeviceDigest | Exception:
    """The tailnet's device digest, or why the list could not be read; once per run.

    When the `devices` stream has already run, its digest is used; otherwise the list
    is streamed here, keeping only the digest, and, when the `devices` stream will run
    later in this run, the body in a spool (on disk past a few MiB), so it is read once.
    """
    found: DeviceDigest | Exception = run.devices.digest(
        tailnet, lambda: _read_digest(run, tailnet)
    )
    return found


def _read_digest(run: RunContext, tailnet: str) -> DeviceDigest | Exception:
    keep = new_spool() if run.devices.needs.keep_list else None
    try:
        with open_device_list(run, tailnet, keep=keep) as listing:
            digest = DeviceDigest.for_run(run, listing.synced_at)
            for device in listing.devices:
                digest.add(device)
    except PARTITION_FAILURES as exc:
        if keep is not None:
            keep.close()
        return exc
    if keep is not None:
        keep.seek(0)
        run.devices.keep_body(tailnet, digest.synced_at, keep)
    return digest


def device_index(run: RunContext, tailnet: str) -> DeviceIndex | None:
    """The index that names connection peers; None (names stay null) with one warning."""
    found = device_digest(run, tailnet)
    if isinstance(found, DeviceDigest) and found.index is not None:
        return found.index
    if isinstance(found, DeviceDigest):  # not wanted at the start of the run: build it now
        run.devices.rebuild_with_index(tailnet)
        return device_index(run, tailnet)
    if run.warnings.first(str(found)):
        logger.warning(
            "Connection rows of tailnet %s are not enriched with device names: %s", tailnet, found
        )
    return None
