"""The HTTP client: every request the tap sends, and how its answer is judged.

`TailscaleClient` owns the session, the authenticator, the deadline, the status rules,
secret scrubbing and the one retry loop; log windows, inventory snapshots and the
tailnet-name lookup all use it. Authentication lives in `client.auth`, recording and
replay of exchanges in `client.recording`.
"""

from tap_tailscale.client.client import USER_AGENT, RetryLoop, Snapshot, TailscaleClient
from tap_tailscale.client.exchange import DeadlineReader, ResponseRules, check_response
from tap_tailscale.client.retry import RetryPolicy

__all__ = [
    "USER_AGENT",
    "DeadlineReader",
    "ResponseRules",
    "RetryLoop",
    "RetryPolicy",
    "Snapshot",
    "TailscaleClient",
    "check_response",
]
