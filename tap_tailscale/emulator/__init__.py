"""An in-process or stand-alone emulator of the Tailscale API v2 logging endpoints.

Usage in tests::

    from tap_tailscale.emulator import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(seed=3)) as emu:
        url = emu.url  # http://127.0.0.1:PORT, API under /api/v2
        expected = list(emu.dataset.all_configuration_events("example.com"))

From a shell: ``python -m tap_tailscale.emulator --port 8765`` (see ``--help``).
"""

from tap_tailscale.emulator.dataset import ConfigFilter, Dataset, TailnetConfig, event_type_of
from tap_tailscale.emulator.server import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    Credential,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultPlan,
    FederatedClient,
    OAuthClient,
    RequestLogEntry,
    api_key_id,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_FEDERATED_CLIENT_ID",
    "ConfigFilter",
    "Credential",
    "Dataset",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "FederatedClient",
    "OAuthClient",
    "RequestLogEntry",
    "TailnetConfig",
    "api_key_id",
    "event_type_of",
]
