"""The TS-H rules of the dbt project (transform/) as Markdown, for scripts/gen_docs.py.

The rules' metadata is the `tt_rules` var of transform/dbt_project.yml and the thresholds
are its other `tt_` vars, so the document and the models read one table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TRANSFORM = Path(__file__).resolve().parent.parent / "transform"

# Point by point, per TS-H rule: (Microsoft Sentinel, Datadog, Panther). Sentinel's names are
# the files of Azure/Azure-Sentinel "Solutions/Tailscale (CCF)": analytic rules (scheduled
# alerts) or hunting queries (run by hand). Datadog ships two log monitors on traffic
# (virtual and physical bytes received per destination, rate of change over 15 minutes above
# a fixed threshold); Panther's three rules look at one audit event each.
PEERS: dict[str, tuple[str, str, str]] = {
    "TS-H-001": ("hunting query FirstSeenActor", "none", "none"),
    "TS-H-002": ("hunting query OffHoursConfigChanges", "none", "none"),
    "TS-H-003": ("analytic rule Mass credential revocation in short window", "none", "none"),
    "TS-H-004": ("hunting queries AuthKeySprawl, AuthKeysNoExpiry", "none", "none"),
    "TS-H-005": ("hunting query ACLPolicyChurn", "none", "none"),
    "TS-H-006": ("analytic rule DeviceKeyExpiringSoon (device keys)", "none", "none"),
    "TS-H-007": ("analytic rule DeviceSshNewlyEnabled", "none", "none"),
    "TS-H-008": ("analytic rule ExternalDeviceAdded", "none", "none"),
    "TS-H-009": ("analytic rule UnauthorizedDeviceConnected", "none", "none"),
    "TS-H-010": ("analytic rule TailnetLockValidationFailed", "none", "none"),
    "TS-H-011": ("hunting query OutdatedClients", "none", "none"),
    "TS-H-012": ("hunting query DormantDevices", "none", "none"),
    "TS-H-013": ("premium analytic rule UnexpectedExitNodeEgress", "none", "none"),
    "TS-H-014": (
        "premium analytic rule LargeOutboundTransfer",
        "monitor on virtual bytes received per destination, fixed threshold",
        "none",
    ),
    "TS-H-015": ("premium analytic rule MassFanOut; hunting query NewNodePairs", "none", "none"),
    "TS-H-016": (
        "premium analytic rule DerpRelaySurge",
        "monitor on physical bytes received per destination, fixed threshold",
        "none",
    ),
}
_DIFFERENCES = (
    "- **Baselines are the node's own.** Sentinel's and Datadog's traffic rules compare with "
    "fixed thresholds you tune per environment (Datadog suggests 5x the last 4 hours). "
    "TS-H-013, 014 and 016 compare each node with its own earlier hours or connections "
    "(`tt_baseline_min_hours`, `tt_large_transfer_min_connections`) and also need an "
    "absolute floor, so a quiet node's small burst stays quiet.",
    "- **History, not the last poll.** SSH newly enabled (TS-H-007) comes from the type-2 "
    "device history (`snap_devices`): it needs two loads, and then says when, between "
    "which two snapshots. Sentinel compares inventory polls inside the SIEM.",
    "- **Keys about to expire** (TS-H-006) looks at auth keys and API tokens; Sentinel's "
    "rule looks at device node keys (those are `dim_devices_current.expires_at`).",
    "- **Not here**: Sentinel's beaconing and subnet-router throughput anomaly, and its "
    "per-event rules (the tap's TS-* rules cover those, above).",
)


def _project() -> dict[str, Any]:
    with (TRANSFORM / "dbt_project.yml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def rules() -> dict[str, dict[str, Any]]:
    """TS-H rule ID -> title, severity, attack, fires."""
    found: dict[str, dict[str, Any]] = _project()["vars"]["tt_rules"]
    return found


def thresholds() -> dict[str, Any]:
    """Every `tt_` var but the rule table, with its default."""
    return {k: v for k, v in _project()["vars"].items() if k != "tt_rules"}


def model_of(rule_id: str) -> str:
    """The detection model of a rule (`ts_h_<number>_<name>`)."""
    prefix = "ts_h_" + rule_id.rsplit("-", 1)[1] + "_"
    (found,) = (p.stem for p in (TRANSFORM / "models" / "detections").glob(prefix + "*.sql"))
    return found


def history_markdown() -> list[str]:
    """The TS-H section of docs/detections.md."""
    table = rules()
    lines = [
        f"## Rules that need history: TS-H ({len(table)}, the dbt project)",
        "",
        "These need aggregation or history, so they run in the warehouse: the dbt project in "
        "`transform/` (docs/dbt.md), after the load (`meltano run tap-tailscale target-duckdb "
        "dbt-duckdb:build`). Each rule is a model; the `detections` model unions them with the "
        "per-event findings above (`source` `dbt` or `tap`). Every row names the `subject`, "
        "the `evidence` and the window (`window_start`, `window_end`).",
        "",
        "| Rule | Title | Severity | ATT&CK | Model | Fires when |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule_id, rule in table.items():
        attack = ", ".join(rule["attack"])
        lines.append(
            f"| {rule_id} | {rule['title']} | {rule['severity']} | {attack} | "
            f"`{model_of(rule_id)}` | {rule['fires']} |"
        )
    lines += [
        "",
        "Thresholds and working hours are dbt vars (`--vars`, or `vars:` in your project):",
        "",
        "| Var | Default |",
        "| --- | --- |",
        *(f"| `{name}` | `{value}` |" for name, value in thresholds().items()),
        "",
        "### TS-H compared with Sentinel, Datadog and Panther",
        "",
        "| Rule | Microsoft Sentinel | Datadog | Panther |",
        "| --- | --- | --- | --- |",
        *(f"| {rule_id} | {' | '.join(PEERS[rule_id])} |" for rule_id in table),
        "",
        *_DIFFERENCES,
    ]
    return lines
