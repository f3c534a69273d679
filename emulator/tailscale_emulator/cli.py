"""The `tap-tailscale-emulator` command (also `python -m tailscale_emulator`).

Prints `emulator listening on http://127.0.0.1:PORT` once it accepts connections, then one
line per credential it accepts, and serves until SIGTERM or SIGINT, then exits 0.
`--config FILE.json` takes every `EmulatorConfig` field (same names); the other flags
override the file.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tailscale_emulator.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    FAULT_KINDS,
    Credential,
    EmulatorConfig,
    FaultPlan,
    parse_timestamp,
)
from tailscale_emulator.dataset import TailnetConfig
from tailscale_emulator.server import Emulator

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tap-tailscale-emulator",
        description="Emulate the Tailscale API v2 (logs and inventory) on a loopback port.",
        # Raw, so the credentials are never hyphen-wrapped across lines.
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "credentials it accepts by default (fixtures, not secrets; --api-key and\n"
            "--config replace them):\n"
            f"  API key:             {DEFAULT_API_KEY}\n"
            f"  OAuth client id:     {DEFAULT_CLIENT_ID}\n"
            f"  OAuth client secret: {DEFAULT_CLIENT_SECRET}\n"
            f"  federated client id: {DEFAULT_FEDERATED_CLIENT_ID} (any JWT starting with eyJ)"
        ),
    )
    p.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1, 0 for any free one (default 0)"
    )
    p.add_argument("--config", type=Path, help="JSON file with EmulatorConfig fields")
    data = p.add_argument_group("dataset")
    data.add_argument("--start", help="dataset start, RFC 3339 (default: end - --days)")
    data.add_argument("--end", help="dataset end, RFC 3339 (default: now, whole minute)")
    data.add_argument("--days", type=float, help="dataset length when --start is absent")
    data.add_argument("--seed", type=int, help="dataset seed (default 7)")
    data.add_argument("--tailnet", help="tailnet name when no --config (default example.com)")
    data.add_argument("--config-interval", type=float, help="seconds between config events")
    data.add_argument("--network-interval", type=float, help="seconds between a node's reports")
    data.add_argument("--nodes", type=int, help="nodes reporting network flow logs")
    data.add_argument("--traffic-items", type=int, help="connection entries per network record")
    data.add_argument(
        "--inventory-devices", type=int, help="devices the inventory lists in all (e.g. 50000)"
    )
    data.add_argument("--no-flow-logs-plan", action="store_true", help="plan lacks flow logs")
    data.add_argument("--flow-logs-disabled", action="store_true", help="flow logging is off")
    data.add_argument(
        "--huge-counters",
        action="store_true",
        help="a few traffic counters past 2**53, up to the uint64 maximum (hard cases)",
    )
    data.add_argument(
        "--plant-detections", action="store_true", help="the planted scenario of the TS-H rules"
    )
    api = p.add_argument_group("api behaviour")
    api.add_argument("--api-key", action="append", default=[], help="accepted API key (repeatable)")
    api.add_argument("--token-lifetime", type=float, help="OAuth token lifetime in seconds")
    api.add_argument("--exclusive-end", action="store_true", help="exclude events at `end`")
    api.add_argument(
        "--empty-array-sometimes",
        action="store_true",
        help='answer some empty windows with "logs": [] instead of null',
    )
    api.add_argument("--max-window-seconds", type=float, help="504 for longer windows")
    api.add_argument("--max-entries", type=int, help="504 for responses with more entries")
    api.add_argument(
        "--latency-seconds", type=float, help="fixed delay before every log endpoint answers"
    )
    api.add_argument(
        "--deny-inventory-scopes",
        action="store_true",
        help="answer every inventory endpoint with the API's missing-scope 403",
    )
    api.add_argument(
        "--shuffle-logs",
        action="store_true",
        help="send each window's log entries out of time order",
    )
    api.add_argument(
        "--name-after-logs-every",
        type=int,
        help="one configuration window in N names the tailnet after `logs` (default 3, 0 never)",
    )
    faults = p.add_argument_group("faults")
    faults.add_argument("--fault-rate", type=float, help="probability a logging request fails")
    faults.add_argument(
        "--fault-kinds", help=f"comma-separated kinds: {', '.join(sorted(FAULT_KINDS))}"
    )
    faults.add_argument("--fault-seed", type=int, help="fault RNG seed")
    faults.add_argument("--fault-first-n", type=int, help="fail the first N logging requests")
    faults.add_argument("--slow-seconds", type=float, help="delay of the `slow` fault")
    return p


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the flags describe (file first, flags on top)."""
    if args.config is not None:
        config = EmulatorConfig.from_dict(orjson.loads(args.config.read_bytes()))
    else:
        config = EmulatorConfig()
        if args.tailnet:
            _rename_default_tailnet(config, args.tailnet)
    _apply_range_flags(args, config)
    for tailnet in config.tailnets.values():
        _apply_flags(args, tailnet, _TAILNET_FLAGS)
    if args.api_key:
        home = next(iter(config.tailnets))
        if args.config is None:
            config.api_keys = {}
        for key in args.api_key:
            config.api_keys[key] = Credential(tailnet=home, name=f"cli-key-{len(config.api_keys)}")
    _apply_flags(args, config, _API_FLAGS)
    _apply_fault_flags(args, config)
    config.validate()
    return config


# (flag attribute, config field, value for a switch or None to copy the flag's value)
_API_FLAGS: tuple[tuple[str, str, bool | None], ...] = (
    ("token_lifetime", "token_lifetime_seconds", None),
    ("exclusive_end", "inclusive_end", False),
    ("empty_array_sometimes", "null_logs_for_empty", False),
    ("max_window_seconds", "max_window_seconds", None),
    ("max_entries", "max_entries_per_response", None),
    ("latency_seconds", "latency_seconds", None),
    ("deny_inventory_scopes", "deny_inventory_scopes", True),
    ("shuffle_logs", "shuffle_logs", True),
    ("name_after_logs_every", "name_after_logs_every", None),
    ("plant_detections", "planted", True),
)
_TAILNET_FLAGS: tuple[tuple[str, str, bool | None], ...] = (
    ("config_interval", "config_event_interval_seconds", None),
    ("network_interval", "network_interval_seconds", None),
    ("nodes", "network_nodes", None),
    ("traffic_items", "traffic_items", None),
    ("inventory_devices", "inventory_devices", None),
    ("no_flow_logs_plan", "plan_has_flow_logs", False),
    ("flow_logs_disabled", "flow_logs_enabled", False),
    ("huge_counters", "huge_counters", True),
)


def _apply_flags(
    args: argparse.Namespace, target: object, table: tuple[tuple[str, str, bool | None], ...]
) -> None:
    """Copy given flags onto `target`; a switch (store_true) sets its fixed value."""
    for flag, name, switched in table:
        value = getattr(args, flag)
        if switched is None and value is not None:
            setattr(target, name, value)
        elif switched is not None and value:
            setattr(target, name, switched)


def _rename_default_tailnet(config: EmulatorConfig, name: str) -> None:
    config.tailnets = {name: TailnetConfig()}
    for cred in config.api_keys.values():
        cred.tailnet = name
    for client in config.oauth_clients.values():
        client.tailnet = name
    for fed in config.federated_clients.values():
        fed.tailnet = name


def _apply_range_flags(args: argparse.Namespace, config: EmulatorConfig) -> None:
    if args.end:
        config.dataset_end = parse_timestamp(args.end, "--end")
    if args.start:
        config.dataset_start = parse_timestamp(args.start, "--start")
    elif args.days is not None or args.end:
        config.dataset_start = config.dataset_end - timedelta(days=args.days or 3)
    if args.seed is not None:
        config.seed = args.seed


def _apply_fault_flags(args: argparse.Namespace, config: EmulatorConfig) -> None:
    flags = (args.fault_rate, args.fault_kinds, args.fault_seed, args.fault_first_n)
    if all(f is None for f in flags) and args.slow_seconds is None:
        return
    plan = config.faults or FaultPlan()
    config.faults = FaultPlan(
        rate=plan.rate if args.fault_rate is None else args.fault_rate,
        kinds=plan.kinds
        if args.fault_kinds is None
        else tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip()),
        seed=plan.seed if args.fault_seed is None else args.fault_seed,
        first_n=plan.first_n if args.fault_first_n is None else args.fault_first_n,
        paths=plan.paths,
        windows_always_failing=plan.windows_always_failing,
        slow_seconds=plan.slow_seconds if args.slow_seconds is None else args.slow_seconds,
    )


def credential_lines(config: EmulatorConfig) -> list[str]:
    """What a client may authenticate with (the emulator's fixtures are no secrets)."""
    lines = [f"  api key: {key} (tailnet {c.tailnet})" for key, c in config.api_keys.items()]
    lines += [
        f"  oauth client id: {cid}, client secret: {c.secret}"
        for cid, c in config.oauth_clients.items()
    ]
    lines += [
        f"  federated client id: {cid} (any JWT starting with {c.accepted_jwt_prefix})"
        for cid, c in config.federated_clients.items()
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point `tap-tailscale-emulator`."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = build_config(args)
    except (ValueError, TypeError, OSError, orjson.JSONDecodeError) as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    emulator = Emulator(config, port=args.port).start()
    try:
        print(f"emulator listening on {emulator.url}", flush=True)
        for line in credential_lines(config):
            print(line, flush=True)
        # A timeout keeps the main thread returning to the interpreter, where signals run.
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
