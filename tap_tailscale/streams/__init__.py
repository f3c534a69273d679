"""The Singer streams: log streams, the views built on their reads, and inventory.

Every stream receives the frozen `RunContext` (settings, report, client, clock and the
shared collaborators) and never reaches back into the tap. The log streams drive the
`logs` package's runner; the inventory and posture streams take whole snapshots through
the client.
"""

from tap_tailscale.streams.context import DeviceNeeds, RunContext
from tap_tailscale.streams.derived import DERIVED_STREAMS, NetworkConnectionStream
from tap_tailscale.streams.devices import DEVICE_DETAIL_STREAMS
from tap_tailscale.streams.inventory import INVENTORY_STREAMS, InventoryStream
from tap_tailscale.streams.log_stream import TailscaleLogStream
from tap_tailscale.streams.log_streams import (
    AdminAuditStream,
    ConfigurationAuditStream,
    NetworkFlowStream,
)
from tap_tailscale.streams.posture import POSTURE_STREAMS
from tap_tailscale.streams.posture_findings import PostureFindingsStream

__all__ = [
    "DERIVED_STREAMS",
    "DEVICE_DETAIL_STREAMS",
    "INVENTORY_STREAMS",
    "POSTURE_STREAMS",
    "AdminAuditStream",
    "ConfigurationAuditStream",
    "DeviceNeeds",
    "InventoryStream",
    "NetworkConnectionStream",
    "NetworkFlowStream",
    "PostureFindingsStream",
    "RunContext",
    "TailscaleLogStream",
]
