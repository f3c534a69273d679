"""Severity shares of `admin_audit` records on the emulator's default mix.

Three days of the default tailnet's configuration events (the emulator's default span and
rates, fixed dates so the figure repeats), each turned into its `admin_audit` record with
the default severities. Prints one line per severity: count and share.

    .venv/bin/python scripts/severity_mix.py
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tailscale_emulator.config import EmulatorConfig
from tailscale_emulator.dataset import Dataset
from tap_tailscale.admin_audit import SEVERITIES, SeverityPolicy, admin_audit_record

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC)


def severity_counts(start: datetime = START, end: datetime = END) -> Counter[str]:
    """How many default-mix records get each severity."""
    config = EmulatorConfig(dataset_start=start, dataset_end=end)
    dataset = Dataset(config)
    policy = SeverityPolicy()
    counts: Counter[str] = Counter()
    for tailnet in config.tailnets:
        for event in dataset.all_configuration_events(tailnet):
            counts[admin_audit_record(event, policy=policy)["severity"]] += 1
    return counts


def main() -> None:
    counts = severity_counts()
    total = sum(counts.values())
    print(f"{total} admin_audit records, emulator default mix, {START:%Y-%m-%d} to {END:%Y-%m-%d}")
    for name in SEVERITIES:
        print(f"{name:>6}: {counts[name]:4d}  {100 * counts[name] / total:5.1f}%")


if __name__ == "__main__":
    main()
