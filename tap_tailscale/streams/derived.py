"""Streams derived from the logs: one row per connection, and OCSF 1.8 events.

Each follows its log's windows and state exactly: when its source stream is selected
too, one read of each window feeds both (tap_tailscale.logs.companions); alone, it reads
the log itself. Connection rows name the reporting node and the peer from one devices
snapshot per run and tailnet; a peer not in the inventory gets nulls, never a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_tailscale.logs import NETWORK_CONNECTION, connection_rows, network_record
from tap_tailscale.ocsf import (
    OCSF_AUDIT,
    OCSF_NETWORK_ACTIVITY,
    ocsf_audit_event,
    ocsf_network_activity,
)
from tap_tailscale.streams.device_listing import device_index
from tap_tailscale.streams.log_streams import AdminAuditStream, CursorOrder, NetworkFlowStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_tailscale.inventory import DeviceIndex
    from tap_tailscale.logs import WindowOrder


class NetworkConnectionStream(NetworkFlowStream):
    """One row per traffic item of every network flow entry, with device names."""

    name = "network_connection"
    primary_keys: ClassVar[list[str]] = ["connection_id"]
    schema = NETWORK_CONNECTION
    # Its rows are built from the traffic items, so it reads them as dicts.
    keeps_traffic_as_text = False

    _index: DeviceIndex | None = None  # from one devices snapshot, small at any size

    @override
    def start_partition(self, context: Context | None) -> None:
        tailnet = str((context or {}).get("tailnet", "-"))
        self._index = device_index(self.run, tailnet)

    @override
    def shape_many(self, entry: Any, tailnet: str) -> list[dict[str, Any]]:
        return connection_rows(network_record(entry, tailnet), self._index)


class OcsfNetworkActivityStream(NetworkConnectionStream):
    """OCSF 1.8 Network Activity (4001), activity Traffic: one event per connection."""

    name = "ocsf_network_activity"
    primary_keys: ClassVar[list[str]] = ["event_uid"]
    schema = OCSF_NETWORK_ACTIVITY

    @override
    def shape_many(self, entry: Any, tailnet: str) -> list[dict[str, Any]]:
        return [ocsf_network_activity(row) for row in super().shape_many(entry, tailnet)]


class OcsfAuditStream(AdminAuditStream):
    """OCSF 1.8 events from the configuration audit log, in admin_audit's order and cursor."""

    name = "ocsf_audit"
    primary_keys: ClassVar[list[str]] = ["event_uid"]
    schema = OCSF_AUDIT
    # The OCSF record keeps the admin cursor at its top level; it sorts like event time.
    time_field = "cursor"

    @override
    def window_order(self) -> WindowOrder:
        return _OcsfAfterCursorOrder(CursorOrder(self))


class _OcsfAfterCursorOrder:
    """admin_audit's order and filter first, then the OCSF conversion."""

    def __init__(self, inner: CursorOrder) -> None:
        self._inner = inner

    def push(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        return [ocsf_audit_event(ready) for ready in self._inner.push(record)]

    def finish(self) -> list[dict[str, Any]]:
        return [ocsf_audit_event(ready) for ready in self._inner.finish()]


DERIVED_STREAMS = (NetworkConnectionStream, OcsfNetworkActivityStream, OcsfAuditStream)
