"""OCSF 1.8.0 events from this tap's records: pure functions and the streams' schemas."""

from __future__ import annotations

from tap_tailscale.ocsf.audit import AUDIT_STREAM_KEYS, ocsf_audit_event, ocsf_event_only
from tap_tailscale.ocsf.common import OCSF_VERSION
from tap_tailscale.ocsf.network import NETWORK_STREAM_KEYS, ocsf_network_activity
from tap_tailscale.ocsf.schemas import OCSF_AUDIT, OCSF_NETWORK_ACTIVITY

__all__ = [
    "AUDIT_STREAM_KEYS",
    "NETWORK_STREAM_KEYS",
    "OCSF_AUDIT",
    "OCSF_NETWORK_ACTIVITY",
    "OCSF_VERSION",
    "ocsf_audit_event",
    "ocsf_event_only",
    "ocsf_network_activity",
]
