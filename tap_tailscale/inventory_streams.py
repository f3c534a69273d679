"""Inventory snapshots: devices, users, keys, the policy file and DNS, per tailnet.

Each run takes a full snapshot (the API has no incremental filter). Every record of one
snapshot carries the same `synced_at`. Keys never include fields that change every
minute (`lastSeen`), so an upserting target holds the current inventory; the policy and
DNS streams key each distinct version, so the same target also keeps their history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from typing_extensions import override

from tap_tailscale import inventory
from tap_tailscale.errors import ApiRequestError, MissingScopeError, TailscaleUserError
from tap_tailscale.inventory_fetch import (
    DEVICES_SCOPE,
    HiddenEndpointError,
    Snapshot,
    device_snapshot,
    fetch,
    not_found_verdict,
)
from tap_tailscale.key_kinds import KeyKindCheck
from tap_tailscale.parsing import BodyError
from tap_tailscale.records import RejectedEntryError
from tap_tailscale.request import SkipPartitionError
from tap_tailscale.retry import RetriableError
from tap_tailscale.scopes import ScopeNeed

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_tailscale.services import StreamServices


class InventoryStream(Stream):
    """A full snapshot of one inventory endpoint, per tailnet.

    A stream declares the scope its endpoint needs as `scope = ScopeNeed(("x:read",))`,
    with `hidden=True` when the live API answers 404 `not found` without it, and reads
    with `self.get(path)`. A missing scope then skips the (stream, tailnet) with one
    warning naming it, and a tailnet the API does not know is an error.
    """

    #: The scopes the endpoint needs, and how the live API says they are missing.
    scope: ClassVar[ScopeNeed]

    def __init__(self, tap: Tap, services: StreamServices) -> None:
        self.services = services
        super().__init__(tap, schema=inventory.SCHEMAS[self.name])
        self.primary_keys = list(inventory.KEY_PROPERTIES[self.name])

    @override
    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        return [{"tailnet": tailnet} for tailnet in self.services.settings.tailnets]

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
            self.services, path, stream=self.name, scope=self.scope, params=params, headers=headers
        )

    def take(self, tailnet: str) -> list[dict[str, Any]]:
        """The whole snapshot; a hidden endpoint's 404 becomes a skip or a tailnet error."""
        try:
            return list(self.snapshot(tailnet))
        except HiddenEndpointError as exc:
            raise not_found_verdict(self.services, tailnet, exc) from None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        tailnet = str((context or {}).get("tailnet", "-"))
        name = self.services.tailnet_name(tailnet)
        report = self.services.report
        try:
            records = self.take(tailnet)
        except SkipPartitionError as exc:
            report.partition_skipped(self.name, tailnet, str(exc))
            if self.services.first_warning(str(exc)):
                self.logger.warning("%s [tailnet %s]: skipped. %s", self.name, tailnet, exc)
            return
        except (ApiRequestError, MissingScopeError, RetriableError, BodyError) as exc:
            report.tailnet_failed([self.name], tailnet, str(exc))
            self.logger.error("%s [tailnet %s]: %s", self.name, tailnet, exc)
            return
        for record in records:
            record["tailnet"] = name
        report.records_emitted(self.name, len(records))
        report.partition_finished(self.name, tailnet)
        yield from records

    def check_connection(self, tailnet: str) -> str | None:
        """One snapshot request; None if the stream is usable, else why not."""
        try:
            self.take(tailnet)
        except (SkipPartitionError, TailscaleUserError, RetriableError, BodyError) as exc:
            return str(exc)
        return None

    def caveat(self) -> str | None:
        """What the connection test says beside OK (e.g. a partial list); None: plain OK."""
        return None

    def shaped(
        self, objects: Any, shape: Any, tailnet: str, synced_at: str
    ) -> Iterable[dict[str, Any]]:
        """Shape each object of a list body; a malformed one is counted and skipped."""
        for obj in objects if isinstance(objects, list) else []:
            try:
                yield shape(obj, tailnet, synced_at)
            except RejectedEntryError as exc:
                self.services.report.entry_rejected(self.name)
                self.logger.warning(
                    "%s [tailnet %s]: skipped an object: %s", self.name, tailnet, exc.reason
                )


class DevicesStream(InventoryStream):
    """Every device of the tailnet, with all fields (`fields=all`)."""

    name = "devices"
    scope = DEVICES_SCOPE

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        found = device_snapshot(self.services, tailnet)
        if isinstance(found, Exception):
            raise found
        devices, synced_at = found
        return self.shaped(devices, inventory.device_record, tailnet, synced_at)


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

    def __init__(self, tap: Tap, services: StreamServices) -> None:
        super().__init__(tap, services)
        self.kinds = KeyKindCheck(self.logger)

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        records = super().snapshot(tailnet)
        self.kinds.check(self.services.authenticator().granted_scopes)
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
