"""The `posture_findings` stream: rows raised by the posture rules from one run's
snapshots of settings, log streaming, webhooks, posture integrations, invites, keys and
devices (tap_tailscale.inventory.posture_rules).

It reads the snapshots the other streams took this run (or takes them itself when they
are not selected), so selecting it costs no request twice. A snapshot it cannot read
(missing scope) leaves its rules unevaluated, said in one warning per tailnet.
"""

from __future__ import annotations

from hashlib import sha256
from itertools import chain
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from tap_tailscale.admin_audit import SeverityPolicy
from tap_tailscale.errors import (
    PARTITION_FAILURES,
    ConfigError,
    SkipPartitionError,
)
from tap_tailscale.inventory import RULES, Sources, evaluate
from tap_tailscale.scopes import ScopeNeed
from tap_tailscale.streams.inventory import InventoryStream
from tap_tailscale.timeutil import format_timestamp, parse_timestamp, utc_now

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tap_tailscale.inventory import Hit, PostureRule

# The streams whose snapshots fill the `Sources` fields of the same names.
SOURCE_STREAMS = (
    "tailnet_settings",
    "log_streaming",
    "webhooks",
    "posture_integrations",
    "user_invites",
    "keys",
    "devices",
    "device_posture",
)
# Read as the iterables their streams give, never held whole.
_ITERATED = frozenset(("devices", "device_posture"))
# One request per device: read only when the user selected the stream.
_ONLY_WHEN_SELECTED = frozenset(("device_posture",))


def finding_record(
    rule: PostureRule, hit: Hit, tailnet: str, synced_at: str, severity: str | None = None
) -> dict[str, Any]:
    """One `posture_findings` row; its key is stable while the finding holds."""
    identity = "\x1f".join((tailnet, rule.rule_id, hit.subject_type, hit.subject_id))
    return {
        "finding_id": "sha256:" + sha256(identity.encode()).hexdigest(),
        "tailnet": tailnet,
        "synced_at": synced_at,
        "rule_id": rule.rule_id,
        "title": rule.title,
        "severity": severity or rule.severity,
        "attack": list(rule.attack),
        "subject_type": hit.subject_type,
        "subject_id": hit.subject_id,
        "subject_name": hit.subject_name,
        "source_stream": rule.source,
        "detail": hit.detail,
    }


class PostureFindingsStream(InventoryStream):
    """Findings from the posture rules, one row per rule and subject."""

    name = "posture_findings"
    # It requests nothing itself: its sources' streams declare their own scopes.
    scope = ScopeNeed(("feature_settings:read",))
    #: The streams whose snapshots feed the rules, by name (set by the tap).
    sources: dict[str, InventoryStream]

    def bind(self, streams: Iterable[InventoryStream]) -> None:
        """Learn the sibling streams whose snapshots the rules read."""
        self.sources = {s.name: s for s in streams if s.name in SOURCE_STREAMS}

    def _read(self, stream_name: str, tailnet: str) -> tuple[Iterable[Any] | None, str | None]:
        """A source's records, or why they cannot be read; (None, None) when the source is
        not to be read at all (not in this tap, or too costly unselected)."""
        stream = self.sources.get(stream_name)
        if stream is None or (stream_name in _ONLY_WHEN_SELECTED and not stream.selected):
            return None, None
        if stream_name == "device_posture":
            kept = self.run.devices.posture_expiries(tailnet)
            if kept is not None:  # read by its own stream earlier in this run
                return kept, None
            if (stream_name, tailnet) in self.run.report.fresh_pairs:
                return None, f"{stream_name}: its snapshot is still fresh, not read this run"
        try:
            if stream_name in _ITERATED:
                # Every record (per device: all of them), started so a refusal shows here.
                return _started(stream.verdicts(tailnet, stream.records)), None
            # `take` turns a hidden endpoint's 404 into a skip or a tailnet error.
            return stream.take(tailnet), None
        except PARTITION_FAILURES as exc:
            return None, f"{stream_name}: {exc}"

    @override
    def snapshot(self, tailnet: str) -> Iterable[dict[str, Any]]:
        sources = Sources(now=utc_now(), thresholds=self.run.settings.posture)
        unread: list[str] = []
        times: list[str] = []
        attempted = 0
        for stream_name in SOURCE_STREAMS:
            rows, problem = self._read(stream_name, tailnet)
            attempted += rows is not None or problem is not None
            if problem is not None:
                unread.append(problem)
                continue
            if isinstance(rows, list):
                times.extend(row["synced_at"] for row in rows if row.get("synced_at"))
            value: Any = rows
            if stream_name == "tailnet_settings" and isinstance(rows, list):
                name = self.run.names.name_of(tailnet)
                value = {**rows[0], "tailnet": name} if rows else None
            setattr(sources, stream_name, value)
        if unread and len(unread) == attempted:
            raise SkipPartitionError("no snapshot its rules read is readable: " + "; ".join(unread))
        if unread:
            skipped = sorted({r.rule_id for r in RULES if _reads(r, unread)})
            self.logger.warning(
                "%s [tailnet %s]: rules %s not evaluated: %s",
                self.name,
                tailnet,
                ", ".join(skipped),
                "; ".join(unread),
            )
        # As of the newest snapshot read: a replayed run gives the same rows.
        synced_at = max(times, default=format_timestamp(sources.now))
        sources.now = parse_timestamp(synced_at)
        try:
            policy = SeverityPolicy(dict(self.run.settings.severity_overrides))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        records = []
        for rule, hit in evaluate(sources):
            severity = policy.rule_severity(rule.rule_id, rule.severity)
            if severity is not None:  # None: switched off with `rule:<ID>: off`
                records.append(finding_record(rule, hit, tailnet, synced_at, severity))
        return records

    @override
    def check_connection(self, tailnet: str) -> str | None:
        """Usable when any snapshot it reads is."""
        problems = [s.check_connection(tailnet) for s in self.sources.values()]
        if any(problem is None for problem in problems):
            return None
        return "no snapshot its rules read is usable: " + "; ".join(
            problem for problem in problems if problem
        )


def _started(rows: Iterable[Any]) -> Iterable[Any]:
    """`rows` with its first record read, so opening it fails here, not mid-evaluation."""
    it = iter(rows)
    first = next(it, _END)
    return it if first is _END else chain((first,), it)


_END = object()


def _reads(rule: PostureRule, unread: list[str]) -> bool:
    return any(problem.startswith(f"{rule.source}:") for problem in unread)
