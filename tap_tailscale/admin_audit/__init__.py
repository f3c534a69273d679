"""The `admin_audit` stream's logic: Tailscale configuration events as normalized,
severity-scored records with detection findings and ACL change analysis.

Pure functions and data, no I/O and no SDK imports, so the tap, the emulator and the
docs generator (scripts/gen_docs.py) share them.
"""

from __future__ import annotations

from tap_tailscale.admin_audit.actions import EVENT_TYPES, event_type, normalize_action
from tap_tailscale.admin_audit.cursor import make_cursor
from tap_tailscale.admin_audit.fields import split_event
from tap_tailscale.admin_audit.hujson import PolicyParseError, parse_policy
from tap_tailscale.admin_audit.policy_diff import policy_diff
from tap_tailscale.admin_audit.record import admin_audit_record
from tap_tailscale.admin_audit.rules import RULES
from tap_tailscale.admin_audit.severity import SEVERITIES, SeverityPolicy, default_severity
from tap_tailscale.admin_audit.summary import summary_sentence

__all__ = [
    "EVENT_TYPES",
    "RULES",
    "SEVERITIES",
    "PolicyParseError",
    "SeverityPolicy",
    "admin_audit_record",
    "default_severity",
    "event_type",
    "make_cursor",
    "normalize_action",
    "parse_policy",
    "policy_diff",
    "split_event",
    "summary_sentence",
]
