"""Inventory snapshots: devices, users, keys, the policy file and DNS, per tailnet.

Each run takes a full snapshot (the API has no incremental filter). Every record of one
snapshot carries the same `synced_at`. Keys never include fields that change every
minute (`lastSeen`), so an upserting target holds the current inventory; the policy and
DNS streams key each distinct version, so the same target also keeps their history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from typing_extensions import override

from tap_tailscale import inventory
from tap_tailscale.errors import (
    ANSWER_FAILURES,
    PARTITION_FAILURES,
    TAILNET_FAILURES,
    HiddenEndpointError,
    RejectedEntryError,
    SkipPartitionError,
    describe,
)
from tap_tailscale.scopes import ScopeNeed
from tap_tailscale.streams import cadence
from tap_tailscale.streams.device_listing import DeviceDigest, open_device_list
from tap_tailscale.streams.inventory_fetch import DEVICES_SCOPE, fetch, not_found_verdict
from tap_tailscale.streams.key_kinds import KeyKindCheck
from tap_tailscale.timeutil import format_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_tailscale.client import Snapshot
    from tap_tailscale.streams.context import RunContext


class InventoryStream(Stream):
    """A full snapshot of one inventory endpoint, per tailnet.

    A stream declares the scope its endpoint needs as `scope = ScopeNeed(("x:read",))`,
    with `hidden=True` when the live API answers 404 `not found` without it, and reads
    with `self.get(path)`. A missing scope then skips the (stream, tailnet) with one
    warning naming it, and a tailnet the API does not know is an error.
    """

    #: The scopes the endpoint needs, and how the live API says they are missing.
    scope: ClassVar[ScopeNeed]
    #: False once part of the current snapshot could not be read (a per-device failure).
    snapshot_complete = True

    def __init__(self, tap: Tap, run: RunContext) -> None:
        self.run = run
        super().__init__(tap, schema=inventory.SCHEMAS[self.name])
        self.primary_keys = list(inventory.KEY_PROPERTIES[self.name])

    @override
    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        return [{"tailnet": tailnet} for tailnet in self.run.settings.tailnets]

    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        """Fetch the endpoint and yield its records, each with the snapshot's `synced_at`."""
        raise NotImplementedError

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Snapshot:
        """GET `/api/v2/{path}` under this stream's name and scope declaration."""
        return fetch(
            self.run, path, stream=self.name, scope=self.scope, params=params, headers=headers
        )

    def take(self, tailnet: str) -> list[dict[str, Any]]:
        """The whole snapshot; a hidden endpoint's 404 becomes a skip or a tailnet error."""
        return list(self.verdicts(tailnet, self.snapshot))

    def records(self, tailnet: str) -> Iterable[dict[str, Any]]:
        """The snapshot's records. Small snapshots are read whole first, so a failure
        emits nothing; the devices stream streams its list instead."""
        return self.take(tailnet)

    def verdicts(
        self, tailnet: str, produce: Callable[[str], Iterable[dict[str, Any]]]
    ) -> Iterator[dict[str, Any]]:
        """`produce(tailnet)`'s records, a hidden endpoint's 404 turned into a skip or a
        tailnet error (see `not_found_verdict`)."""
        try:
            yield from produce(tailnet)
        except HiddenEndpointError as exc:
            raise not_found_verdict(self.run, tailnet, exc) from None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        tailnet = str((context or {}).get("tailnet", "-"))
        state = self.get_context_state(context)
        started = self.run.wall_clock()
        taken: str | None = None  # the snapshot's own time: its records' synced_at
        if self._still_fresh(tailnet, state, started):
            return
        name = self.run.names.name_of(tailnet)
        report = self.run.report
        emitted = 0
        self.snapshot_complete = True
        try:
            for record in self.verdicts(tailnet, self.records):
                record["tailnet"] = name
                emitted += 1
                taken = taken or record.get("synced_at")
                yield record
        except SkipPartitionError as exc:
            report.partition_skipped(self.name, tailnet, str(exc))
            if self.run.warnings.first(str(exc)):
                self.logger.warning("%s [tailnet %s]: skipped. %s", self.name, tailnet, exc)
            return
        except ANSWER_FAILURES as exc:
            # Retries used up: halted, as a log window is; the next run takes it again.
            report.records_emitted(self.name, emitted)
            report.snapshot_halted(self.name, tailnet, describe(exc))
            self.logger.error(
                "%s [tailnet %s]: the snapshot failed every attempt; stopping. The next run "
                "takes it again. Last error: %s",
                self.name,
                tailnet,
                describe(exc),
            )
            return
        except TAILNET_FAILURES as exc:
            report.records_emitted(self.name, emitted)
            report.tailnet_failed([self.name], tailnet, str(exc))
            self.logger.error("%s [tailnet %s]: %s", self.name, tailnet, exc)
            return
        report.records_emitted(self.name, emitted)
        report.partition_finished(self.name, tailnet)
        if self.snapshot_complete:  # a partial one is taken again next run
            cadence.mark_snapshot(state, taken or started)

    def _still_fresh(self, tailnet: str, state: dict[str, Any], now: datetime) -> bool:
        """True (and said) when the last snapshot is younger than the stream's interval."""
        interval = self.run.settings.snapshot_interval(self.name)
        due = cadence.fresh_until(state, interval, now)
        if due is None:
            return False
        taken = str(state.get(cadence.SNAPSHOT_KEY))
        self.run.report.snapshot_fresh(self.name, tailnet, taken, format_timestamp(due))
        self.logger.info(
            "%s [tailnet %s]: the snapshot taken %s is still fresh; next after %s.",
            self.name,
            tailnet,
            taken,
            format_timestamp(due),
        )
        return True

    def check_connection(self, tailnet: str) -> str | None:
        """One snapshot request; None if the stream is usable, else why not."""
        try:
            for _ in self.verdicts(tailnet, self.snapshot):  # nothing held: lists stream
                pass
        except PARTITION_FAILURES as exc:
            return str(exc)
        return None

    def caveat(self) -> str | None:
        """What the connection test says beside OK (e.g. a partial list); None: plain OK."""
        return None

    def shaped(
        self, objects: Any, shape: Any, tailnet: str, synced_at: str
    ) -> Iterable[dict[str, Any]]:
        """Shape each object of a list body; a malformed one is counted and skipped."""
        for obj in objects if isinstance(objects, list | Iterator) else []:
            try:
                yield shape(obj, tailnet, synced_at)
            except RejectedEntryError as exc:
                self.run.report.entry_rejected(self.name)
                self.logger.warning(
                    "%s [tailnet %s]: skipped an object: %s", self.name, tailnet, exc.reason
                )


class DevicesStream(InventoryStream):
    """Every device of the tailnet, with all fields (`fields=all`), streamed.

    The list is parsed one device at a time and each record goes out at once, so a
    50,000-device tailnet costs no more memory than a small one. Its digest (names for
    connection rows, node ids for the per-device streams) is left for later streams.
    """

    name = "devices"
    scope = DEVICES_SCOPE

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        with open_device_list(self.run, tailnet) as listing:
            yield from self.shaped(
                listing.devices, inventory.device_record, tailnet, listing.synced_at
            )

    @override
    def records(self, tailnet: str) -> Iterable[dict[str, Any]]:
        with open_device_list(self.run, tailnet) as listing:
            digest = DeviceDigest.for_run(self.run, listing.synced_at)
            devices = _digesting(listing.devices, digest)
            yield from self.shaped(devices, inventory.device_record, tailnet, listing.synced_at)
        self.run.devices.remember_digest(tailnet, digest)


def _digesting(devices: Iterable[Any], digest: DeviceDigest) -> Iterator[Any]:
    for device in devices:
        digest.add(device)
        yield device


class _ListStream(InventoryStream):
    """An endpoint whose body is `{"<envelope>": [objects]}`."""

    path: ClassVar[str]
    params: ClassVar[dict[str, str]]
    envelope: ClassVar[str]
    shape: ClassVar[Any]

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        answer = self.get(f"tailnet/{tailnet}/{self.path}", self.params)
        body = answer.json()
        objects = body.get(self.envelope) if isinstance(body, dict) else None
        return self.shaped(objects, type(self).shape, tailnet, answer.taken_at)


class UsersStream(_ListStream):
    """Every user: members and shared users alike (the endpoint lists members by default)."""

    name = "users"
    # Without it the live API answers 404 `not found`, as for a tailnet it does not know.
    scope = ScopeNeed(("users:read",), hidden=True)
    path = "users"
    params: ClassVar[dict[str, str]] = {"type": "all"}
    envelope = "users"
    shape = staticmethod(inventory.user_record)


class KeysStream(_ListStream):
    """Auth keys, API access tokens, OAuth clients and federated identities; never a secret.

    Each kind needs its own scope, and the API lists the kinds the credential may read
    without a word about the others: the stream says which may be missing.
    """

    name = "keys"
    scope = ScopeNeed(KeyKindCheck.SCOPES)
    path = "keys"
    params: ClassVar[dict[str, str]] = {"all": "true"}
    envelope = "keys"
    shape = staticmethod(inventory.key_record)

    def __init__(self, tap: Tap, run: RunContext) -> None:
        super().__init__(tap, run)
        self.kinds = KeyKindCheck(self.logger)

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        records = super().snapshot(tailnet)
        self.kinds.check(self.run.client.authenticator().granted_scopes)
        return records

    @override
    def caveat(self) -> str | None:
        return self.kinds.verdict


class PolicyStream(InventoryStream):
    """The policy file as sent (HuJSON) and parsed, one record per distinct version."""

    name = "policy"
    scope = ScopeNeed(("policy_file:read",))

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        # No Accept header: the API then sends the HuJSON text, comments and all.
        answer = self.get(f"tailnet/{tailnet}/acl")
        etag = next((v for k, v in answer.headers.items() if k.lower() == "etag"), None)
        text = answer.body.decode("utf-8", errors="replace")
        return [inventory.policy_record(text, etag, tailnet, answer.taken_at)]


class DnsStream(InventoryStream):
    """Nameservers, preferences, search paths and split DNS: one record per snapshot.

    `dns:read` is documented for the older endpoints, not for `/dns/configuration`: when
    that one is refused, the same record is built from the four older ones.
    """

    name = "dns"
    scope = ScopeNeed(("dns:read",))

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        try:
            answer = self.get(f"tailnet/{tailnet}/dns/configuration")
        except SkipPartitionError as refused:
            return [self._from_older_endpoints(tailnet, refused)]
        return [inventory.dns_record(tailnet, answer.taken_at, configuration=answer.json())]

    def _from_older_endpoints(self, tailnet: str, refused: SkipPartitionError) -> dict[str, Any]:
        bodies: dict[str, Any] = {}
        try:
            for argument, path in _OLDER_DNS:
                answer = self.get(f"tailnet/{tailnet}/dns/{path}")
                bodies[argument] = answer.json()
        except SkipPartitionError:
            raise refused from None
        self.logger.info(
            "dns [tailnet %s]: /dns/configuration was refused; read the four older DNS "
            "endpoints instead.",
            tailnet,
        )
        return inventory.dns_record(tailnet, answer.taken_at, **bodies)


# dns_record's argument -> the older endpoint that answers it.
_OLDER_DNS = (
    ("nameservers", "nameservers"),
    ("preferences", "preferences"),
    ("search_paths", "searchpaths"),
    ("split_dns", "split-dns"),
)


INVENTORY_STREAMS: tuple[type[InventoryStream], ...] = (
    DevicesStream,
    UsersStream,
    KeysStream,
    PolicyStream,
    DnsStream,
)
