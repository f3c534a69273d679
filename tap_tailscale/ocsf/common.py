"""What every OCSF 1.8.0 event of this tap shares: version, product, ids and captions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tap_tailscale.timeutil import parse_timestamp

OCSF_VERSION = "1.8.0"
VENDOR = "Tailscale Inc."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Our three severities onto OCSF's scale: info is Informational, medium Medium, high High.
SEVERITY_IDS = {"info": 1, "medium": 3, "high": 4}
SEVERITY_CAPTIONS = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High"}
STATUS_CAPTIONS = {0: "Unknown", 1: "Success", 2: "Failure"}
CATEGORY_CAPTIONS = {3: "Identity & Access Management", 4: "Network Activity"}


def epoch_ms(value: str) -> int:
    """An RFC 3339 timestamp (any number of fraction digits) as milliseconds since 1970."""
    return (parse_timestamp(value) - _EPOCH) // timedelta(milliseconds=1)


def product(feature: str) -> dict[str, Any]:
    """`metadata.product` for one Tailscale log."""
    return {"name": "Tailscale", "vendor_name": VENDOR, "feature": {"name": feature}}


def drop_none(values: dict[str, Any]) -> dict[str, Any]:
    """`values` without its None, empty-list and empty-object entries."""
    return {k: v for k, v in values.items() if v not in (None, [], {})}


def classification(
    class_uid: int, class_name: str, activity_id: int, activity_name: str
) -> dict[str, Any]:
    """The ids and captions that classify an event: class, category, activity, type."""
    category_uid = class_uid // 1000
    return {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "category_name": CATEGORY_CAPTIONS[category_uid],
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {activity_name}",
    }


def severity(severity_id: int) -> dict[str, Any]:
    """`severity_id` and its caption."""
    return {"severity_id": severity_id, "severity": SEVERITY_CAPTIONS[severity_id]}


def status(status_id: int) -> dict[str, Any]:
    """`status_id` and its caption."""
    return {"status_id": status_id, "status": STATUS_CAPTIONS[status_id]}
