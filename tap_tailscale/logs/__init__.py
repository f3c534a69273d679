"""Reading Tailscale's log endpoints: windows, the runner, and records from bodies.

The API has no pagination, so the tap plans its own time windows (`windows`), reads
them one by one with a bookmark that moves only when a window is complete (`runner`),
fetches later windows while one is written (`readahead`), and feeds one read to every
stream built from the same log (`companions`). Bodies are streamed (`parsing`,
`jsonscan`, `nesting`) into records with deterministic keys (`records`, `keys`), and
the real name of the tailnet `-` is learned on the way (`tailnet_names`).
"""

from tap_tailscale.logs.companions import (
    ArrivalOrder,
    CompanionRegistry,
    CompanionSet,
    WindowOrder,
    ordered,
)
from tap_tailscale.logs.connections import NETWORK_CONNECTION, connection_rows
from tap_tailscale.logs.parsing import BlockDecoder, iter_log_entries
from tap_tailscale.logs.readahead import ReadAhead, copy_body, new_spool
from tap_tailscale.logs.records import (
    JSON_DECODER,
    configuration_record,
    decode_flow_block,
    network_record,
)
from tap_tailscale.logs.runner import Outcome, WindowJob, run_windows
from tap_tailscale.logs.tailnet_names import TailnetNames
from tap_tailscale.logs.windows import SyncRange, Window, WindowPlanner, merge_ranges, plan_range

__all__ = [
    "JSON_DECODER",
    "NETWORK_CONNECTION",
    "ArrivalOrder",
    "BlockDecoder",
    "CompanionRegistry",
    "CompanionSet",
    "Outcome",
    "ReadAhead",
    "SyncRange",
    "TailnetNames",
    "Window",
    "WindowJob",
    "WindowOrder",
    "WindowPlanner",
    "configuration_record",
    "connection_rows",
    "copy_body",
    "decode_flow_block",
    "iter_log_entries",
    "merge_ranges",
    "network_record",
    "new_spool",
    "ordered",
    "plan_range",
    "run_windows",
]
