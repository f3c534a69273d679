"""Per-device inventory streams: `device_posture` and `device_invites`.

The API has no tailnet-wide list of either: each is one request per device, so a
50,000-device tailnet costs 50,000 requests per stream. The device ids come from the
run's device digest (`device_listing`), the requests run `per_device_concurrency` at
a time (halved on a 429), a progress line goes to the log every `PROGRESS_SECONDS`,
and records go out as answers arrive, in device order, so memory stays flat. The first
device is asked alone: a missing scope then skips the stream with one warning instead
of 50,000 failures. After that, a device whose request fails (deleted since the list
was read, or out of retries) is counted and reported, and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_tailscale import inventory
from tap_tailscale.client import Snapshot
from tap_tailscale.errors import AuthenticationError, RejectedEntryError, SkipPartitionError
from tap_tailscale.logs import JSON_DECODER
from tap_tailscale.scopes import ScopeNeed
from tap_tailscale.streams.device_listing import DeviceDigest, device_digest
from tap_tailscale.streams.inventory import InventoryStream
from tap_tailscale.streams.inventory_fetch import fetch
from tap_tailscale.streams.ordered_pool import AdaptiveLimit, fan_out

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

PROGRESS_SECONDS = 15.0
# Failures named one by one in the log; the rest are only counted.
_NAMED_FAILURES = 5


@dataclass
class _Progress:
    """Counts of one per-device snapshot, and when the progress line was last written."""

    stream: str
    tailnet: str
    total: int
    clock: Callable[[], float]
    logger: logging.Logger
    done: int = 0
    failed: int = 0
    first_failure: str = ""
    _last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._last = self.clock()

    def tick(self, limit: AdaptiveLimit, *, final: bool = False) -> None:
        self.done += 1
        now = self.clock()
        if final or now - self._last >= PROGRESS_SECONDS:
            self._last = now
            self.logger.info(
                "%s [tailnet %s]: %d of %d devices read, %d failed (%d requests at once).",
                self.stream,
                self.tailnet,
                self.done,
                self.total,
                self.failed,
                limit.limit,
            )

    def fail(self, node_id: str, error: Exception) -> None:
        self.failed += 1
        if self.failed == 1:
            self.first_failure = f"{node_id}: {error}"
        if self.failed <= _NAMED_FAILURES:
            self.logger.warning(
                "%s [tailnet %s]: device %s could not be read: %s",
                self.stream,
                self.tailnet,
                node_id,
                error,
            )


class PerDeviceStream(InventoryStream):
    """One request per listed device; the answers shaped into this stream's records."""

    #: The resource under `/device/{id}/`.
    resource: ClassVar[str]

    def shape(self, body: Any, node_id: str, tailnet: str, synced_at: str) -> list[dict[str, Any]]:
        """The records of one device's answer."""
        raise NotImplementedError

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        # The connection test asks about the first device only.
        digest = self._digest(tailnet)
        if not digest.node_ids:
            return []
        answer = self._ask(digest.node_ids[0], AdaptiveLimit(1))
        return self.shape(_decode(answer), digest.node_ids[0], tailnet, answer.taken_at)

    @override
    def records(self, tailnet: str) -> Iterable[dict[str, Any]]:
        digest = self._digest(tailnet)
        if not digest.node_ids:
            return
        settings = self.run.settings
        limit = AdaptiveLimit(settings.per_device_concurrency)
        progress = _Progress(
            self.name, tailnet, len(digest.node_ids), self.run.client.clock, self.logger
        )
        first = digest.node_ids[0]
        try:
            probe: Snapshot | Exception = self._ask(first, limit)
        except (SkipPartitionError, AuthenticationError):
            raise  # a missing scope or a dead credential: once for the stream, not per device
        except Exception as exc:
            probe = exc
        synced_at = probe.taken_at if isinstance(probe, Snapshot) else digest.synced_at
        answers: Iterator[tuple[str, Snapshot | Exception]] = fan_out(
            digest.node_ids[1:],
            lambda node_id: self._ask(node_id, limit),
            limit,
            settings.per_device_concurrency,
        )
        for node_id, answer in chain(((first, probe),), answers):
            yield from self._shaped(answer, node_id, tailnet, synced_at, progress)
            progress.tick(limit, final=progress.done + 1 == progress.total)
        if progress.failed:
            self.snapshot_complete = False
            reason = (
                f"{progress.failed} of {progress.total} devices could not be read "
                f"(first: {progress.first_failure}); the others were"
            )
            self.run.report.partition_skipped(self.name, tailnet, reason)
            self.logger.warning("%s [tailnet %s]: %s.", self.name, tailnet, reason)

    def _shaped(
        self,
        answer: Snapshot | Exception,
        node_id: str,
        tailnet: str,
        synced_at: str,
        progress: _Progress,
    ) -> list[dict[str, Any]]:
        if isinstance(answer, Exception):
            progress.fail(node_id, answer)
            return []
        try:
            return self.shape(_decode(answer), node_id, tailnet, synced_at)
        except (RejectedEntryError, ValueError) as exc:
            self.run.report.entry_rejected(self.name)
            progress.fail(node_id, exc)
            return []

    def _digest(self, tailnet: str) -> DeviceDigest:
        found = device_digest(self.run, tailnet)
        if isinstance(found, Exception):
            raise found
        return found

    def _ask(self, node_id: str, limit: AdaptiveLimit) -> Snapshot:
        def slowed(error: BaseException) -> None:
            if getattr(error, "is_rate_limit", False) and (lowered := limit.throttled()):
                self.logger.warning(
                    "%s: rate limited (HTTP 429); %d requests at once from now on.",
                    self.name,
                    lowered,
                )

        return fetch(
            self.run,
            f"device/{node_id}/{self.resource}",
            stream=self.name,
            scope=self.scope,
            on_retry=slowed,
        )


def _decode(answer: Snapshot) -> Any:
    try:
        return JSON_DECODER.decode(answer.body)
    except Exception as exc:  # msgspec's DecodeError, or an integer Python will not parse
        raise ValueError(f"the body is not valid JSON ({exc})") from None


class DevicePostureStream(PerDeviceStream):
    """Each device's posture attributes and their expiries (`/device/{id}/attributes`)."""

    name = "device_posture"
    # A 403 without it; a 404 ("Device not found") is that device's failure, not a scope.
    scope = ScopeNeed(("devices:posture_attributes:read",))
    resource = "attributes"

    @override
    def shape(self, body: Any, node_id: str, tailnet: str, synced_at: str) -> list[dict[str, Any]]:
        return [inventory.posture_record(body, node_id, tailnet, synced_at)]

    @override
    def records(self, tailnet: str) -> Iterable[dict[str, Any]]:
        # posture_findings (TS-PST-017) reads only the expiries: keep those as they pass,
        # a few per device at most, instead of asking every device again.
        expiring: list[dict[str, Any]] = []
        for record in super().records(tailnet):
            if record.get("expiries") not in (None, "", "{}"):
                expiring.append({"nodeId": record.get("nodeId"), "expiries": record["expiries"]})
            yield record
        self.run.devices.keep_posture_expiries(tailnet, expiring)


class DeviceInvitesStream(PerDeviceStream):
    """Who each device is shared with (`/device/{id}/device-invites`), links redacted."""

    name = "device_invites"
    scope = ScopeNeed(("device_invites:read",))
    resource = "device-invites"

    @override
    def shape(self, body: Any, node_id: str, tailnet: str, synced_at: str) -> list[dict[str, Any]]:
        return inventory.invite_records(body, node_id, tailnet, synced_at)


DEVICE_DETAIL_STREAMS: tuple[type[PerDeviceStream], ...] = (
    DevicePostureStream,
    DeviceInvitesStream,
)
