"""A Tailscale policy file evaluator: parse, expand, compute the access relation, compare.

Pure functions and data, no I/O and no SDK imports. The semantics follow Tailscale's
documentation, cited in each module; where it is silent the evaluator over-reports (reads
a change as wider) rather than miss a widening.
"""

from __future__ import annotations

from tap_tailscale.policy.compare import PolicyDelta, compare
from tap_tailscale.policy.describe import NARROWER, WIDER, describe
from tap_tailscale.policy.diff import Change, changes
from tap_tailscale.policy.document import canonical, section_list
from tap_tailscale.policy.hujson import PolicyParseError, parse_policy
from tap_tailscale.policy.reach import (
    DeviceFacts,
    ReachSnapshot,
    device_facts,
    reach_summary,
    user_facts,
)
from tap_tailscale.policy.relation import Row, relation
from tap_tailscale.policy.targets import Atom

__all__ = [
    "NARROWER",
    "WIDER",
    "Atom",
    "Change",
    "DeviceFacts",
    "PolicyDelta",
    "PolicyParseError",
    "ReachSnapshot",
    "Row",
    "canonical",
    "changes",
    "compare",
    "describe",
    "device_facts",
    "parse_policy",
    "reach_summary",
    "relation",
    "section_list",
    "user_facts",
]
