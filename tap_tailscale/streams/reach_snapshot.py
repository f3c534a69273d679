"""This run's devices and users snapshot, for counting who a policy change lets reach what.

`admin_audit` syncs before the inventory streams, so when a policy change needs its
`reach_now` counts, the snapshot is taken then, once per tailnet and run, and only when
`devices` and `users` are both selected (a run without them has no snapshot: the counts
are absent, never guessed). The device list is read through the shared device digest:
streamed, keeping owner, tags and addresses of each device, and spooled for the
`devices` stream so the run still reads it once. The users list is small and read once
more here. A list that cannot be read leaves the counts out, said once at INFO: the
`devices` or `users` stream, selected in the same run, warns about the failure itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tap_tailscale.errors import PARTITION_FAILURES, TAILNET_FAILURES, HiddenEndpointError
from tap_tailscale.policy import ReachSnapshot, user_facts
from tap_tailscale.streams.device_listing import DeviceDigest, device_digest
from tap_tailscale.streams.inventory import UsersStream
from tap_tailscale.streams.inventory_fetch import fetch

if TYPE_CHECKING:
    from tap_tailscale.streams.context import RunContext

logger = logging.getLogger(__name__)

_USER_ERRORS = (*PARTITION_FAILURES, *TAILNET_FAILURES, HiddenEndpointError)


def reach_snapshot(run: RunContext, tailnet: str) -> ReachSnapshot | None:
    """The tailnet's snapshot for `reach_now` counts, or None (no counts); once per run."""
    if not run.devices.needs.reach:
        return None
    found: ReachSnapshot | None = run.devices.reach_snapshot(tailnet, lambda: _take(run, tailnet))
    return found


def _take(run: RunContext, tailnet: str) -> ReachSnapshot | None:
    digest = device_digest(run, tailnet)
    if not isinstance(digest, DeviceDigest) or digest.facts is None:
        _warn(run, tailnet, f"the device list could not be read: {digest}")
        return None
    try:
        answer = fetch(
            run,
            f"tailnet/{tailnet}/{UsersStream.path}",
            stream=UsersStream.name,
            scope=UsersStream.scope,
            params=UsersStream.params,
        )
        body = answer.json()
    except _USER_ERRORS as exc:
        _warn(run, tailnet, f"the user list could not be read: {exc}")
        return None
    listed = body.get(UsersStream.envelope) if isinstance(body, dict) else None
    users = [user_facts(user) for user in listed] if isinstance(listed, list) else []
    return ReachSnapshot(
        digest.synced_at, list(digest.facts), [user for user in users if user is not None]
    )


def _warn(run: RunContext, tailnet: str, why: str) -> None:
    if run.warnings.first(f"reach_now {tailnet}: {why}"):
        logger.info("Policy changes of tailnet %s get no user and device counts: %s", tailnet, why)
