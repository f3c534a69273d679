"""Pins the Singer SDK behaviour that tap_tailscale.sdk_overrides relies on.

Each test names the override it protects. When an SDK upgrade changes one of these,
this file fails in CI, and sdk_internals.py is the one place to adapt.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
from contextlib import redirect_stdout
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase, _ConfigInput
from singer_sdk.streams.core import Stream as CoreStream
from singer_sdk.tap_base import CliTestOptionValue

from tap_tailscale.sdk_overrides import StreamInternals
from tap_tailscale.tap import TapTailscale
from tests.conftest import NOW, fast_settings, run_tap
from tests.emulator_support import iso

if TYPE_CHECKING:
    from tailscale_emulator import Emulator


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_increment_stream_state_is_the_per_record_bookmark_hook() -> None:
    # StreamInternals._increment_stream_state: silenced so the bookmark moves per window.
    assert _parameters(CoreStream._increment_stream_state) == ["self", "latest_record", "context"]
    assert "_increment_stream_state" in inspect.getsource(CoreStream._sync_records)


def test_write_record_message_is_the_one_record_writer() -> None:
    # StreamInternals._write_record_message: the plain-record fast path.
    assert _parameters(CoreStream._write_record_message) == ["self", "record"]
    assert "_write_record_message" in inspect.getsource(CoreStream._sync_records)
    source = inspect.getsource(CoreStream._write_record_message)
    assert "is_flushed = False" in source


def test_write_state_message_writes_only_when_state_changed() -> None:
    # StreamInternals.write_state / mark_state_changed rely on the is_flushed flag.
    source = inspect.getsource(CoreStream._write_state_message)
    assert "if not self.state_manager.is_flushed" in source
    assert "self.state_manager.is_flushed = True" in source


def test_batches_write_state_after_each_batch_message() -> None:
    # commit_window in batch mode leaves STATE to the SDK, which writes it after BATCH.
    source = inspect.getsource(CoreStream._sync_batches)
    assert source.index("_write_batch_message") < source.index("_write_state_message")


def test_stream_version_attribute_is_set_by_the_sdk() -> None:
    tap = TapTailscale(config={}, parse_env_config=False)
    stream = tap.streams["configuration_audit"]
    assert hasattr(stream, "_stream_version")
    assert hasattr(stream.state_manager, "is_flushed")
    assert stream._tap is tap


def test_validate_config_raises_config_validation_error_with_a_list() -> None:
    # TapInternals._validate_config turns the SDK's error into one line.
    assert _parameters(PluginBase._validate_config) == ["self", "raise_errors"]
    error = ConfigValidationError("x", errors=["a", "b"])
    assert error.errors == ["a", "b"]


def test_sync_all_and_invoke_keep_their_shape() -> None:
    # TapInternals.sync_all wraps super().sync_all(); TapInternals.invoke repeats
    # Tap.invoke after reading the state and catalog files itself.
    assert _parameters(Tap.sync_all) == ["self"]
    assert _parameters(Tap.invoke) == [
        "about",
        "about_format",
        "config",
        "state",
        "catalog",
    ]
    source = inspect.getsource(Tap.invoke)
    for step in ("super().invoke(", "print_version", "validate_config=True", "sync_all()"):
        assert step in source
    default_input = _ConfigInput()
    assert hasattr(default_input, "config")
    assert hasattr(default_input, "parse_env")


def test_cb_test_is_the_test_option_callback() -> None:
    assert _parameters(Tap.cb_test) == ["ctx", "param", "value"]
    assert CliTestOptionValue.All.value == "all"


def test_the_tap_uses_its_overrides() -> None:
    tap = TapTailscale(config={}, parse_env_config=False)
    stream = tap.streams["network_flow"]
    assert isinstance(stream, StreamInternals)
    assert type(stream)._increment_stream_state is not Stream._increment_stream_state
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(out):
        stream.write_state()
        stream.flush_records()
    out.seek(0)
    messages = [json.loads(line) for line in out.read().splitlines()]
    assert [m["type"] for m in messages] == ["STATE"]


def test_the_record_counter_exists_before_records_are_requested() -> None:
    # StreamInternals.emit_all counts with the counter _sync_records made for this sync,
    # kept by the get_record_counter override; it must be made before get_records runs.
    source = inspect.getsource(CoreStream._sync_records)
    assert source.index("self.get_record_counter()") < source.index("self.get_records(")
    assert _parameters(CoreStream.get_record_counter) == ["self", "endpoint", "log_interval"]


def test_the_per_record_loop_does_nothing_emit_all_skips(emulator: Emulator) -> None:
    # emit_all skips _process_record and post_process: they must have nothing to do, so
    # the records are the SDK loop's records, line for line.
    for stream in TapTailscale(config={}, parse_env_config=False).streams.values():
        assert type(stream).post_process is Stream.post_process
        assert not stream.child_streams
    config = fast_settings(
        emulator.url,
        start_date=iso(NOW - timedelta(hours=6)),
        end_date=iso(NOW - timedelta(hours=1)),  # both runs end at the same bound
    )
    streams = ("network_flow", "configuration_audit", "admin_audit")
    direct = run_tap(config, streams=streams)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StreamInternals, "emits_directly", property(lambda _self: False))
        through_sdk = run_tap(config, streams=streams)
    assert direct.records.keys() == through_sdk.records.keys() == set(streams)
    assert direct.records == through_sdk.records
    assert direct.final_state == through_sdk.final_state


def test_directly_emitted_records_are_counted_in_the_sdk_metric(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    config = fast_settings(emulator.url, start_date=iso(NOW - timedelta(hours=6)))
    with caplog.at_level(logging.INFO, logger="singer_sdk.metrics"):
        run = run_tap(config, streams=("network_flow",))
    counted = [
        json.loads(record.getMessage().split("METRIC: ", 1)[1])
        for record in caplog.records
        if '"record_count"' in record.getMessage()
    ]
    flow_counts = [m["value"] for m in counted if m["tags"].get("stream") == "network_flow"]
    assert sum(flow_counts) == len(run.records["network_flow"]) > 0


def test_log_records_skip_the_sdk_loop_except_in_dry_runs(emulator: Emulator) -> None:
    config = fast_settings(
        emulator.url,
        start_date=iso(NOW - timedelta(hours=3)),
        end_date=iso(NOW - timedelta(hours=1)),
    )
    seen: list[str] = []
    original = CoreStream._process_record

    def spy(self: CoreStream, record: dict, **kwargs: object) -> None:
        seen.append(self.name)
        original(self, record, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CoreStream, "_process_record", spy)
        run = run_tap(config, streams=("network_flow",))
        assert run.records["network_flow"]
        assert seen == []
        # The SDK's dry run stops in its own loop, so its records must go through it.
        tap = TapTailscale(config=config, parse_env_config=False)
        with redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
            tap.run_sync_dry_run(dry_run_record_limit=5, streams=[tap.streams["network_flow"]])
        assert seen == ["network_flow"] * 5
