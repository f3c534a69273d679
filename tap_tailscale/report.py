"""The run report: what each stream read, re-read, rejected, skipped or stopped on.

Streams write to it; the tap turns it into the summary line and the exit code.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime


@dataclass
class RunReport:
    """Counters and notes of one run, shared by every stream."""

    new_records: Counter[str] = field(default_factory=Counter)
    reread_records: Counter[str] = field(default_factory=Counter)
    windows: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    #: Events a cursor stream read again at or before its cursor, and so left out.
    behind_cursor: Counter[str] = field(default_factory=Counter)
    #: Bodies whose envelope had no `logs` key, per stream (read as empty, and said).
    odd_bodies: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)
    failed_tailnets: list[str] = field(default_factory=list)
    _failed: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    #: (stream, tailnet) partitions that finished without an error.
    finished: set[tuple[str, str]] = field(default_factory=set)
    #: Inventory snapshots skipped because the last one is still fresh.
    fresh: list[str] = field(default_factory=list)
    fresh_pairs: set[tuple[str, str]] = field(default_factory=set)

    def window_done(self, stream: str, new: int, reread: int) -> None:
        """Count a completed window: records past the old bookmark, and overlap re-reads."""
        self.windows[stream] += 1
        self.new_records[stream] += new
        self.reread_records[stream] += reread

    def records_emitted(self, stream: str, new: int) -> None:
        """Count records of a stream that has no windows (inventory snapshots)."""
        self.new_records[stream] += new

    def entry_rejected(self, stream: str) -> None:
        """Count an entry that could not be emitted."""
        self.rejected[stream] += 1

    def already_emitted(self, stream: str, count: int) -> None:
        """Count events left out because a cursor stream emitted them before."""
        self.behind_cursor[stream] += count

    def body_without_logs(self, stream: str) -> None:
        """Count a body whose envelope had no `logs` key."""
        self.odd_bodies[stream] += 1

    def partition_skipped(self, stream: str, tailnet: str, reason: str) -> None:
        """Note a (stream, tailnet) skipped with a warning; the run goes on."""
        self.skipped.append(f"{stream} [tailnet {tailnet}]: {reason}")

    def partition_halted(self, streams: str, tailnet: str, resume_at: datetime, error: str) -> None:
        """Note streams of one tailnet stopped after their retries ran out."""
        self.halted.append(
            f"{streams} [tailnet {tailnet}] stopped after repeated failures and will resume at "
            f"{resume_at.isoformat()} (last error: {error})"
        )

    def snapshot_halted(self, stream: str, tailnet: str, error: str) -> None:
        """Note an inventory snapshot that failed every attempt; the next run takes it."""
        self.halted.append(
            f"{stream} [tailnet {tailnet}] stopped after repeated failures; the next run "
            f"takes the snapshot again (last error: {error})"
        )

    def tailnet_failed(self, streams: Iterable[str], tailnet: str, error: str) -> None:
        """Note streams of a tailnet that failed with a user error; other tailnets go on.

        One note per tailnet, naming its first error, so a tailnet that does not exist
        gives one line, not one per stream.
        """
        failed = self._failed.setdefault(tailnet, ([], error))
        failed[0].extend(name for name in streams if name not in failed[0])
        self.failed_tailnets[:] = [
            f"tailnet {name}: {first} (streams: {', '.join(names)})"
            for name, (names, first) in self._failed.items()
        ]

    def snapshot_fresh(self, stream: str, tailnet: str, taken: str, due: str) -> None:
        """Note an inventory snapshot skipped because the last one is still fresh."""
        self.fresh.append(f"{stream} [tailnet {tailnet}] (taken {taken}, next after {due})")
        self.fresh_pairs.add((stream, tailnet))

    def partition_finished(self, stream: str, tailnet: str) -> None:
        """Note a (stream, tailnet) that read its whole range (or had nothing to read)."""
        self.finished.add((stream, tailnet))

    @property
    def exit_code(self) -> int:
        """0; 3 when something stopped early while other partitions finished; else 2."""
        if self.halted or (self.failed_tailnets and self.finished):
            return 3
        return 2 if self.failed_tailnets else 0

    def summary(self, streams: Iterable[str]) -> tuple[int, str]:
        """The summary line and its log level (WARNING when data was rejected)."""
        parts = [
            f"{name}: {self.new_records[name]} new records and {self.reread_records[name]} "
            f"re-read in {self.windows[name]} windows, {self.rejected[name]} rejected"
            + self._extras(name)
            for name in streams
        ]
        troubled = sum(self.rejected.values()) + sum(self.odd_bodies.values())
        level = logging.WARNING if troubled else logging.INFO
        line = "Run summary: " + ("; ".join(parts) or "no streams selected") + "."
        if self.fresh:
            line += " Snapshots still fresh, not taken again: " + "; ".join(self.fresh) + "."
        return level, line

    def _extras(self, name: str) -> str:
        extras = ""
        if self.behind_cursor[name]:
            extras += f", {self.behind_cursor[name]} left out as already emitted (cursor)"
        if self.odd_bodies[name]:
            extras += f", {self.odd_bodies[name]} bodies without a `logs` key"
        return extras

    def log(self, streams: Iterable[str], logger: logging.Logger) -> None:
        """Log the summary, the skipped partitions (each was warned about with its reason
        when it was skipped, so the reason is not repeated), then each failed one."""
        level, line = self.summary(streams)
        logger.log(level, line)
        if self.skipped:
            logger.warning(
                "Skipped (see the warnings above): %s.",
                ", ".join(note.split(":", 1)[0] for note in self.skipped),
            )
        for failed in self.failed_tailnets:
            logger.warning("Failed %s", failed)
