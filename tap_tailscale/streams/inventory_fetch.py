"""Reading one inventory endpoint: a whole snapshot in one GET, retried by the one client.

Inventory endpoints have no pagination and no time filter. A missing scope (a 403, or a
404 from an endpoint the live API hides, see tap_tailscale.scopes) skips the stream with
a warning naming the scope, and the other streams go on; a 404 from a tailnet the API
does not know is still an error. A body too big to hold (the device list) is opened and
streamed instead (tap_tailscale.streams.device_listing).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from tap_tailscale.errors import ApiRequestError, HiddenEndpointError, SkipPartitionError
from tap_tailscale.scopes import ScopeNeed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from tap_tailscale.client import DeadlineReader, ResponseRules, Snapshot
    from tap_tailscale.streams.context import RunContext

DEVICES_SCOPE = ScopeNeed(("devices:core:read",))


def _rules(run: RunContext, stream: str, scope: ScopeNeed) -> ResponseRules:
    return run.client.rules(
        stream,
        on_forbidden=lambda message: _missing_scope(stream, scope, message),
        on_not_found=partial(_hidden, stream, scope) if scope.hidden else None,
    )


def fetch(
    run: RunContext,
    path: str,
    *,
    stream: str,
    scope: ScopeNeed,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    on_retry: Callable[[BaseException], None] | None = None,
) -> Snapshot:
    """GET `/api/v2/{path}` whole; raise SkipPartitionError when the scope is missing,
    HiddenEndpointError for a 404 from an endpoint that hides itself without it, and
    RetriableError once the retries are spent.

    `on_retry` hears of each failed attempt that will be retried (a 429, say).
    """
    rules = _rules(run, stream, scope)
    return run.client.get(path, rules, params=params, headers=headers, on_retry=on_retry)


@contextmanager
def open_inventory(
    run: RunContext,
    path: str,
    *,
    stream: str,
    scope: ScopeNeed,
    params: Mapping[str, str] | None = None,
) -> Iterator[DeadlineReader]:
    """GET `/api/v2/{path}` and give its body unread, for a body too big to hold."""
    rules = _rules(run, stream, scope)
    with run.client.open_retrying(path, rules, params=params) as body:
        yield body


def _missing_scope(stream: str, scope: ScopeNeed, message: str) -> None:
    raise SkipPartitionError(
        f"The credential lacks the {scope.label} scope (HTTP 403: {message}); grant it (or "
        f"`all:read`) to read {stream}."
    )


def _hidden(stream: str, scope: ScopeNeed, message: str) -> None:
    raise HiddenEndpointError(stream, scope, message)


def not_found_verdict(
    run: RunContext, tailnet: str, exc: HiddenEndpointError
) -> SkipPartitionError | ApiRequestError:
    """A hidden endpoint's 404: a skip when the tailnet exists, else an error.

    Whether it exists is asked once per run and tailnet (TailnetNames.exists).
    """
    exists = run.names.exists(tailnet)
    if exists is False:
        return ApiRequestError(
            f"{exc.stream}: the API answered HTTP 404 ({exc.message}) and does not know "
            f"tailnet {tailnet}; check the tailnet setting."
        )
    unsure = "" if exists else " (or the tailnet does not exist: it could not be told)"
    return SkipPartitionError(
        f"The credential lacks the {exc.scope.label} scope (HTTP 404: {exc.message}: the API "
        f"hides {exc.stream} without it){unsure}; grant it (or `all:read`) to read "
        f"{exc.stream}."
    )
