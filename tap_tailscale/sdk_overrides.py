"""Every use of the Singer SDK's private or `@final` names, and nothing else.

A minor SDK release may change any of these, so they live here alone, each with the
reason it is needed and the singer-sdk issue or release that would let it go
(`meltano/sdk#N`), and tests/test_sdk_contract.py pins the SDK behaviour each one
relies on: an upgrade that breaks one fails CI, not a user's sync. The tap's one hook
around a whole sync is `TapInternals.sync_lifecycle`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from singer_sdk import RESTStream, Tap, metrics
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import PluginBase, _ConfigInput
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_tailscale.errors import ConfigError
from tap_tailscale.logs import Window
from tap_tailscale.output import BufferedMsgSpecWriter
from tap_tailscale.state_check import read_json_input

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import IO

    from singer_sdk.helpers.types import Context


class StreamInternals(RESTStream[Window]):
    """The stream-side overrides: window-frontier bookmarks and the plain-record fast path."""

    _record_writer: BufferedMsgSpecWriter | None = None
    #: The record counter of the sync in progress (the SDK makes one per sync).
    record_counter: metrics.Counter | None = None

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        # The SDK would move the bookmark to each record's key as it is emitted. A STATE
        # written mid-window (every 10,000 records, or on SIGTERM) would then claim records
        # of that window not yet read. The bookmark moves only when a window completes.
        # Drop when the SDK offers a "checkpoint now" hook: meltano/sdk#362 (closed, no API).
        return

    @override
    def get_record_counter(
        self, *, endpoint: str | None = None, log_interval: float = metrics.DEFAULT_LOG_INTERVAL
    ) -> metrics.Counter:
        # Kept so that records emitted directly (emit_all) count in the SDK's own metric.
        # An overridable hook since meltano/sdk#3307 (0.51); not a private use.
        counter = super().get_record_counter(endpoint=endpoint, log_interval=log_interval)
        self.record_counter = counter
        return counter

    @property
    def emits_directly(self) -> bool:
        """Whether this sync's records may skip the SDK's per-record loop (see emit_all)."""
        return (
            self.record_counter is not None
            and self.ABORT_AT_RECORD_COUNT is None  # dry runs stop in that loop
            and not self.get_batch_config(self.config)  # batches are built from its yield
            and not self.child_streams
        )

    @property
    def writes_records_itself(self) -> bool:
        """Whether each record of this sync goes as it is to the tap's writer (msgspec).

        True only once choose_record_writer has picked that writer, and not in batch mode
        (batch files are written by the SDK's own encoder). Records may then hold values
        only msgspec encodes, such as msgspec.Raw.
        """
        return self._record_writer is not None and not self.get_batch_config(self.config)

    def emit_all(self, records: Iterable[dict[str, Any]]) -> None:
        """Write and count each record here instead of yielding it to the SDK's loop.

        For each record, `_sync_records` would check the dry-run limit, add the partition's
        keys (every record here has them), sync child streams (there are none), write it,
        count it, and pass it through two more generators: a seventh of a busy window's
        time by profile, for a loop with nothing to do. Only use when emits_directly.
        """
        counter = self.record_counter
        if counter is None:
            raise RuntimeError("emit_all runs only inside the SDK's sync (see emits_directly)")
        increment = counter.increment
        writer = self._record_writer
        if writer is None:  # the SDK's own writing: selection, conforming or maps at work
            for record in records:
                self._write_record_message(record)
                increment(1)
            return
        # The plain writer's loop, with what _write_record_message does per record done
        # per run of records: counting (the metric is logged at most once a minute), and
        # marking the state as changed (it is written only after a window's records).
        state = self.state_manager
        for written in writer.write_records(
            self.name, self._stream_version, records, every=_COUNT_EVERY
        ):
            state.is_flushed = False
            increment(written)

    @override
    def _write_record_message(self, record: dict[str, Any]) -> None:
        # The SDK's version walks the schema and the record for deselected properties,
        # then conforms and maps, for every record: a fifth of a busy window's time by
        # profile. When all three are no-ops (every property selected, conforming off,
        # one identity stream map) the line it writes is the one the writer writes from
        # the record directly. Any other catalog or mapper setting takes the SDK's path.
        # Drop when the SDK skips pruning and conforming for a fully selected, unmapped
        # stream; meltano/sdk#2887 and #3687 made them cheaper, not free.
        writer = self._record_writer
        if writer is None:
            super()._write_record_message(record)
        else:
            writer.write_record(self.name, record, self._stream_version, datetime.now(UTC))
            self.state_manager.is_flushed = False
        if self.ABORT_AT_RECORD_COUNT is not None:
            # Dry runs (the SDK's test runner) stop without a final STATE to push
            # buffered records out, so they go out one by one.
            self.flush_records()

    def announce(self) -> None:
        """Write this stream's SCHEMA now, before records it gets from another stream's read."""
        self._write_schema_message()
        self.choose_record_writer()

    def write_record(self, record: dict[str, Any]) -> None:
        """Emit one record of this stream now (a companion stream fed by another's read)."""
        self._write_record_message(record)

    def mark_state_changed(self) -> None:
        """Have the SDK write STATE at its next opportunity (after a BATCH message)."""
        self.state_manager.is_flushed = False

    def write_state(self) -> None:
        """Write the tap's STATE now, after every record it covers has been written."""
        self.state_manager.is_flushed = False
        self._write_state_message()

    def flush_records(self) -> None:
        """Push buffered RECORD lines out."""
        writer = self._tap.message_writer
        if isinstance(writer, BufferedMsgSpecWriter):
            writer.flush()

    def choose_record_writer(self) -> None:
        """Use the direct writer for this sync when the SDK would not change records."""
        maps = self.stream_maps
        writer = self._tap.message_writer
        plain = (
            self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
            and all(self.mask.values())
        )
        self._record_writer = (
            writer if plain and isinstance(writer, BufferedMsgSpecWriter) else None
        )


# Records written between two updates of the record counter (and the state's flag).
_COUNT_EVERY = 1024


class TapInternals(Tap):
    """The tap-side overrides: one-line config errors, a post-sync hook, the connection test."""

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK logs each schema error on its own line and exits 1; users get one line.
        # The multi-line form came with meltano/sdk#768; no issue asks for one line yet.
        try:
            return super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            details = "; ".join(exc.errors) if exc.errors else str(exc)
            raise ConfigError(
                f"invalid settings: {details}. See `tap-tailscale --about` for every setting."
            ) from None

    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        # The SDK marks sync_all final and offers no hook around the whole sync, but a
        # stream that stopped early must fail the run only after every other stream has
        # synced, and the checks that need the whole state must run before the first
        # stream starts: sync_lifecycle is that one hook.
        # Drop when sync_all reports outcomes itself (meltano/sdk#3614, #1409) and the SDK
        # offers a hook before the first stream.
        with self.sync_lifecycle():
            super().sync_all()

    @contextmanager
    def sync_lifecycle(self) -> Iterator[None]:
        """Wraps the whole sync: checks before it, cleanup and the verdict after."""
        yield

    def flush_output(self) -> None:
        """Push buffered RECORD lines to stdout."""
        if isinstance(self.message_writer, BufferedMsgSpecWriter):
            self.message_writer.flush()

    def connection_test(self) -> None:
        """Run the connection test (`--test`)."""
        raise NotImplementedError

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        # The SDK reads --state and --catalog from files click opened and never closes
        # them (a ResourceWarning under Meltano's PYTHONWARNINGS=once), and a broken
        # state file ends in a traceback. They are read, closed and checked here; the
        # rest is the SDK's own Tap.invoke.
        # The pattern came with meltano/sdk#3144; the traceback is meltano/sdk#1081.
        state_dict = read_json_input(state, "state")
        catalog_dict = read_json_input(catalog, "catalog")
        PluginBase.invoke.__func__(cls, about=about, about_format=about_format)  # type: ignore[attr-defined]
        cls.print_version(print_fn=cls.logger.info)
        config = config or _ConfigInput()
        tap = cls(
            config=config.config,
            state=state_dict,
            catalog=catalog_dict,
            parse_env_config=config.parse_env,
            validate_config=True,
        )
        tap.sync_all()

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        # Click runs option callbacks while parsing, before it enters the context that
        # closes the --state and --catalog files it opened; an error raised here would
        # leave them open (ResourceWarnings under Meltano's PYTHONWARNINGS=once).
        # The SDK's --test syncs a record per stream (meltano/sdk#309) and
        # run_connection_test is final, so the check is hooked in here.
        if not value:  # click calls this for every run; only --test is handled here
            return
        try:
            cls._run_connection_test(ctx, param, value)
        finally:
            ctx.close()

    @override
    @classmethod
    def get_singer_command(cls) -> click.Command:
        # The SDK's help says --test syncs one record per stream; ours runs the check.
        # Goes with cb_test (meltano/sdk#309).
        command = super().get_singer_command()
        for option in command.params:
            if option.name == "test" and isinstance(option, click.Option):
                option.help = (
                    "Run the connection check: ask each selected stream's endpoint once and "
                    "report OK or what is wrong (a missing scope, flow logs off, bad "
                    "credentials); syncs nothing. --test=schema writes the schemas only."
                )
        return command

    @classmethod
    def _run_connection_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        # The SDK's test syncs one record per stream and cannot tell "no events yet" from
        # "not allowed"; this one asks each stream's endpoint once and says what is wrong.
        if value != CliTestOptionValue.All.value:
            super().cb_test(ctx, param, value)
            return
        config: Any = ctx.params.get("config")
        tap = cls(
            config=config.config if config else None,
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        tap.connection_test()
        ctx.exit()
