"""The HTTP client: every request the tap sends, and how its answer is judged.

`TailscaleClient` owns the session, the authenticator, the deadline, the status rules,
secret scrubbing and the one retry loop; log windows, inventory snapshots and the
tailnet-name lookup all use it. Authentication lives in `client.auth`, recording and
replay of exchanges in `client.recording`.
"""

from tap_tailscale.client.client import USER_AGENT, RetryLoop, Snapshot, TailscaleClient, read_all
from tap_tailscale.client.exchange import (
    DeadlineReader,
    Exchange,
    ResponseRules,
    api_message,
    check_response,
    open_body,
    refuses_tailnet,
)
from tap_tailscale.client.retry import RetryPolicy, retry_after_seconds

__all__ = [
    "USER_AGENT",
    "DeadlineReader",
    "Exchange",
    "ResponseRules",
    "RetryLoop",
    "RetryPolicy",
    "Snapshot",
    "TailscaleClient",
    "api_message",
    "check_response",
    "open_body",
    "read_all",
    "refuses_tailnet",
    "retry_after_seconds",
]
