"""An in-process or stand-alone emulator of the Tailscale API v2 (logs and inventory).

Usage in tests::

    from tailscale_emulator import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(seed=3)) as emu:
        url = emu.url  # http://127.0.0.1:PORT, API under /api/v2
        expected = list(emu.dataset.all_configuration_events("example.com"))
        devices = emu.dataset.devices("example.com")

From a shell: ``tap-tailscale-emulator --port 8765`` or ``python -m tailscale_emulator``
(see ``--help``).
"""

from tailscale_emulator.access import FORBIDDEN_MESSAGE, RequestLogEntry, api_key_id
from tailscale_emulator.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_FEDERATED_CLIENT_ID,
    INVENTORY_SCOPES,
    Credential,
    EmulatorConfig,
    Fault,
    FaultPlan,
    FederatedClient,
    OAuthClient,
)
from tailscale_emulator.dataset import Dataset, TailnetConfig
from tailscale_emulator.event_types import ConfigFilter, event_type_of
from tailscale_emulator.policies import PolicyVersion, hujson_to_json
from tailscale_emulator.server import Emulator
from tap_tailscale.admin_audit import EVENT_TYPES

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_FEDERATED_CLIENT_ID",
    "EVENT_TYPES",
    "FORBIDDEN_MESSAGE",
    "INVENTORY_SCOPES",
    "ConfigFilter",
    "Credential",
    "Dataset",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "FederatedClient",
    "OAuthClient",
    "PolicyVersion",
    "RequestLogEntry",
    "TailnetConfig",
    "api_key_id",
    "event_type_of",
    "hujson_to_json",
]
