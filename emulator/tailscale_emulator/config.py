"""What the emulator does: the dataset range, tailnets, credentials, faults and switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tailscale_emulator.dataset import TailnetConfig
from tailscale_emulator.timefmt import parse_rfc3339_ns

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

DEFAULT_API_KEY = "emulator-demo-key"
DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - a fixture, not a secret
DEFAULT_FEDERATED_CLIENT_ID = "emulator-federated-client"
# Read scopes of the inventory endpoints; `deny_inventory_scopes` refuses all of them.
KEY_SCOPES = (
    "auth_keys:read",
    "api_access_tokens:read",
    "oauth_keys:read",
    "federated_keys:read",
)
# Per-device resources' scopes, refused with the others.
DEVICE_DETAIL_SCOPES = ("devices:posture_attributes:read", "device_invites:read")
INVENTORY_SCOPES: tuple[str, ...] = (
    "devices:core:read",
    "users:read",
    *KEY_SCOPES,
    "policy_file:read",
    "dns:read",
    # The posture endpoints (tailscale_emulator.posture_routes).
    "feature_settings:read",
    "log_streaming:read",
    "webhooks:read",
    "services:read",
    "account_settings:read",
)
INVENTORY_SCOPES += DEVICE_DETAIL_SCOPES


def _now_minute() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _default_start() -> datetime:
    return _now_minute() - timedelta(days=3)


class Fault(StrEnum):
    """Fault kinds a `FaultPlan` can inject (plain strings work too)."""

    HTTP_429 = "429"
    HTTP_429_RETRY_AFTER = "429-retry-after"
    HTTP_429_RETRY_AFTER_DATE = "429-retry-after-date"
    HTTP_500 = "500"
    HTTP_502 = "502"
    HTTP_503 = "503"
    HTTP_504 = "504"
    RESET = "reset"
    SLOW = "slow"
    TRUNCATED = "truncated"
    BAD_JSON = "bad-json"
    LOGS_NOT_ARRAY = "logs-not-array"


FAULT_KINDS = frozenset(f.value for f in Fault)


@dataclass
class FaultPlan:
    """Which logging requests fail and how.

    `first_n > 0`: the first N matching requests fail, cycling through `kinds`, then none.
    Otherwise each matching request fails with probability `rate`, decided by an RNG seeded
    from `(seed, request counter)` so a run is reproducible. Empty `kinds` means `("500",)`.
    `windows_always_failing` entries `(start, end, kind)` fail every request whose window
    overlaps `[start, end)`, whatever the counter says. A request "matches" when its path
    contains one of `paths` and it is otherwise valid (auth, scope, parameters).
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    seed: int = 1
    first_n: int = 0
    paths: tuple[str, ...] = ("logging/configuration", "logging/network")
    windows_always_failing: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    slow_seconds: float = 3.0

    def __post_init__(self) -> None:
        unknown = {str(k) for k in self.kinds} | {str(w[2]) for w in self.windows_always_failing}
        unknown -= FAULT_KINDS
        if unknown:
            raise ValueError(
                f"unknown fault kind(s) {sorted(unknown)}; known: {sorted(FAULT_KINDS)}"
            )


@dataclass
class Credential:
    """An API access token's grants. `name` is what the request log shows for it."""

    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)
    name: str | None = None
    # Further tailnets the credential may read (`-` still means `tailnet`), so one
    # credential can exercise the tap's `tailnets` setting.
    other_tailnets: tuple[str, ...] = ()


@dataclass
class OAuthClient:
    """A trust credential for the client-credentials grant."""

    secret: str
    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)


@dataclass
class FederatedClient:
    """A workload-identity client: accepts a JWT-shaped `jwt` starting with the prefix."""

    tailnet: str = "example.com"
    scopes: tuple[str, ...] = ("all:read",)
    accepted_jwt_prefix: str = "eyJ"


def _default_tailnets() -> dict[str, TailnetConfig]:
    return {"example.com": TailnetConfig()}


def _default_api_keys() -> dict[str, Credential]:
    return {DEFAULT_API_KEY: Credential(name="emulator-demo")}


def _default_oauth_clients() -> dict[str, OAuthClient]:
    return {DEFAULT_CLIENT_ID: OAuthClient(secret=DEFAULT_CLIENT_SECRET)}


def _default_federated_clients() -> dict[str, FederatedClient]:
    return {DEFAULT_FEDERATED_CLIENT_ID: FederatedClient()}


@dataclass
class EmulatorConfig:
    """Everything the emulator does. Tests may change fields while it runs."""

    dataset_start: datetime = field(default_factory=_default_start)
    dataset_end: datetime = field(default_factory=_now_minute)
    tailnets: dict[str, TailnetConfig] = field(default_factory=_default_tailnets)
    api_keys: dict[str, Credential] = field(default_factory=_default_api_keys)
    oauth_clients: dict[str, OAuthClient] = field(default_factory=_default_oauth_clients)
    federated_clients: dict[str, FederatedClient] = field(
        default_factory=_default_federated_clients
    )
    token_lifetime_seconds: float = 3600
    inclusive_end: bool = True
    null_logs_for_empty: bool = True
    faults: FaultPlan | None = None
    seed: int = 7
    max_window_seconds: float | None = None
    max_entries_per_response: int | None = None
    # Refuse every inventory scope with a 403, whatever the credential holds.
    deny_inventory_scopes: bool = False
    # Further scopes refused for every credential (e.g. only "users:read").
    denied_scopes: tuple[str, ...] = ()
    # Inventory paths (after `/tailnet/{tailnet}/`) refused with the live 403 whatever the
    # credential holds, e.g. "dns/configuration", whose scope is not documented.
    refused_paths: tuple[str, ...] = ()
    # Fill every write-only secret field (log-stream tokens, webhook and posture
    # integration secrets, key values) as an API regression would: for leak tests.
    plant_secrets: bool = False
    # Added before every log endpoint answers (the benchmark's latency case).
    latency_seconds: float = 0.0
    # The live API names the tailnet `tailnetId` before `logs`; JSON objects have no key
    # order, so one configuration window in N (by a hash of its start) names it after
    # `logs` instead. 0 = never, 1 = always.
    name_after_logs_every: int = 3
    # Send each window's entries in a shuffled order (the spec promises time order; a
    # tap must not lose an entry that breaks it). Seeded by the window: reproducible.
    shuffle_logs: bool = False
    # The planted scenario of the dbt project's TS-H rules (tailscale_emulator.planted).
    planted: bool = False

    def denied(self) -> frozenset[str]:
        """The scopes refused for every credential."""
        inventory = INVENTORY_SCOPES if self.deny_inventory_scopes else ()
        return frozenset((*self.denied_scopes, *inventory))

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the dataset range (normalising it to UTC); ValueError if unusable."""
        for name in ("dataset_start", "dataset_end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware (UTC)")
            setattr(self, name, value.astimezone(UTC))
        if self.dataset_end < self.dataset_start:
            raise ValueError("dataset_end is before dataset_start")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmulatorConfig:
        """Build from JSON-shaped data (RFC 3339 strings for times, lists for tuples)."""
        return _config_from_dict(data)


def parse_timestamp(value: Any, where: str) -> datetime:
    """An aware datetime from a datetime or an RFC 3339 string; ValueError names `where`."""
    if isinstance(value, datetime):
        return value
    ns = parse_rfc3339_ns(str(value))
    if ns is None:
        raise ValueError(f"{where}: not an RFC 3339 timestamp: {value!r}")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _only_known(data: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")


def _tailnet_from_dict(data: Mapping[str, Any], where: str) -> TailnetConfig:
    _only_known(data, TailnetConfig.__dataclass_fields__, where)
    values = dict(data)
    if "quiet_periods" in values:
        values["quiet_periods"] = [
            (parse_timestamp(a, where), parse_timestamp(b, where))
            for a, b in values["quiet_periods"]
        ]
    return TailnetConfig(**values)


def _with_scopes(data: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if "scopes" in values:
        values["scopes"] = tuple(values["scopes"])
    return values


def _config_from_dict(data: Mapping[str, Any]) -> EmulatorConfig:
    _only_known(data, EmulatorConfig.__dataclass_fields__, "config")
    values: dict[str, Any] = dict(data)
    for name in ("dataset_start", "dataset_end"):
        if name in values:
            values[name] = parse_timestamp(values[name], name)
    if "tailnets" in values:
        values["tailnets"] = {
            n: _tailnet_from_dict(t, f"tailnets.{n}") for n, t in values["tailnets"].items()
        }
    if "api_keys" in values:
        values["api_keys"] = {
            k: Credential(**_with_scopes(c)) for k, c in values["api_keys"].items()
        }
    if "oauth_clients" in values:
        values["oauth_clients"] = {
            k: OAuthClient(**_with_scopes(c)) for k, c in values["oauth_clients"].items()
        }
    if "federated_clients" in values:
        values["federated_clients"] = {
            k: FederatedClient(**_with_scopes(c)) for k, c in values["federated_clients"].items()
        }
    for name in ("denied_scopes", "refused_paths"):
        if name in values:
            values[name] = tuple(values[name])
    if values.get("faults") is not None:
        faults = dict(values["faults"])
        _only_known(faults, FaultPlan.__dataclass_fields__, "faults")
        for name in ("kinds", "paths"):
            if name in faults:
                faults[name] = tuple(faults[name])
        if "windows_always_failing" in faults:
            faults["windows_always_failing"] = [
                (parse_timestamp(a, "faults"), parse_timestamp(b, "faults"), str(kind))
                for a, b, kind in faults["windows_always_failing"]
            ]
        values["faults"] = FaultPlan(**faults)
    return EmulatorConfig(**values)
