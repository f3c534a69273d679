"""The SDK's built-in tap test suite, run against the emulator.

One layer among several: its primary-key test cannot fail (it compares generators), so
key uniqueness is asserted in test_sync.py instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tailscale_emulator import Emulator, EmulatorConfig
from tap_tailscale.tap import TapTailscale
from tap_tailscale.timeutil import format_timestamp
from tests.conftest import NOW, fast_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

# The runner reads this dict when its class-scoped fixture runs; the emulator fixture
# below fills in api_url first, so the suite never touches api.tailscale.com.
SUITE_SETTINGS = fast_settings(
    "http://127.0.0.1:9",
    start_date=format_timestamp(NOW - timedelta(hours=12)),
    end_date=format_timestamp(NOW),
    network_window_seconds=4 * 3600,
)


@pytest.fixture(scope="module", autouse=True)
def suite_emulator() -> Iterator[Emulator]:
    emulator = Emulator(EmulatorConfig(dataset_start=NOW - timedelta(days=1), dataset_end=NOW))
    emulator.start()
    SUITE_SETTINGS["api_url"] = emulator.url
    yield emulator
    emulator.stop()


TestTapTailscale = get_tap_test_class(
    tap_class=TapTailscale,
    config=SUITE_SETTINGS,
    suite_config=SuiteConfig(max_records_limit=50),
)
