"""The tap: builds the settings, the client and the run context, lists the streams, ends the run."""

from __future__ import annotations

import contextlib
import gc
import sys
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.helpers.capabilities import CapabilitiesEnum, TapCapabilities
from typing_extensions import override

from tap_tailscale.client import TailscaleClient
from tap_tailscale.client.auth import TailscaleAuthenticator, build_authenticator
from tap_tailscale.client.recording import build_session, share_recording
from tap_tailscale.errors import ConfigError, StreamHaltedError, TailscaleUserError, redact
from tap_tailscale.logs import CompanionRegistry, TailnetNames
from tap_tailscale.output import BufferedMsgSpecWriter
from tap_tailscale.report import RunReport
from tap_tailscale.sdk_overrides import TapInternals
from tap_tailscale.settings import SETTINGS, Settings, log_unknown_settings
from tap_tailscale.state_check import check_state
from tap_tailscale.streams import (
    DERIVED_STREAMS,
    DEVICE_DETAIL_STREAMS,
    INVENTORY_STREAMS,
    POSTURE_STREAMS,
    AdminAuditStream,
    ConfigurationAuditStream,
    DeviceNeeds,
    InventoryStream,
    NetworkConnectionStream,
    NetworkFlowStream,
    PostureFindingsStream,
    RunContext,
    TailscaleLogStream,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests
    from singer_sdk.streams import Stream


class TapTailscale(TapInternals):
    """Tailscale audit and flow logs, inventory, admin findings and OCSF events."""

    # One line on purpose: the SDK's `--about --format=markdown` dedents its header together
    # with this docstring, so a second line indented by 4 leaves the heading indented by 8.

    name = "tap-tailscale"
    config_jsonschema = SETTINGS
    message_writer_class = BufferedMsgSpecWriter
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        *TapInternals.capabilities,
        TapCapabilities.TEST,
    ]

    @cached_property
    def settings(self) -> Settings:
        """The validated settings of this run."""
        settings = Settings.from_config(self.config)
        log_unknown_settings(self.config, self.config_jsonschema["properties"], self.logger)
        return settings

    @cached_property
    def report(self) -> RunReport:
        """This run's counters."""
        return RunReport()

    @cached_property
    def client(self) -> TailscaleClient:
        """The one HTTP client every stream and lookup sends its requests through."""
        return TailscaleClient(
            self.settings,
            session=lambda: self.http_session,
            authenticator=lambda: self.authenticator,
            secrets=self.secret_values,
        )

    @cached_property
    def run(self) -> RunContext:
        """What every stream receives."""
        return RunContext(
            settings=self.settings,
            report=self.report,
            client=self.client,
            companions=CompanionRegistry(),
            names=TailnetNames(self.client),
        )

    @override
    def discover_streams(self) -> list[Stream]:
        run = self.run
        logs: list[TailscaleLogStream] = [
            stream_class(self, run)
            for stream_class in (
                ConfigurationAuditStream,
                NetworkFlowStream,
                AdminAuditStream,
                *DERIVED_STREAMS,
            )
        ]
        for stream in logs:
            run.companions.register(stream.log_kind, stream)
        snapshots = [
            stream_class(self, run)
            for stream_class in (*INVENTORY_STREAMS, *DEVICE_DETAIL_STREAMS, *POSTURE_STREAMS)
        ]
        findings = PostureFindingsStream(self, run)
        findings.bind(snapshots)
        return [*logs, *snapshots, findings]

    @cached_property
    def authenticator(self) -> TailscaleAuthenticator:
        """One authenticator for every stream, so an OAuth token is fetched once per lifetime."""
        authenticator = build_authenticator(
            self.settings.auth,
            api_url=self.settings.api_url,
            allow_anonymous=bool(self.settings.replay_dir),
        )
        if authenticator.token_session is not None:
            # Token exchanges join the recording (redacted), and replay answers them.
            share_recording(self.http_session, authenticator.token_session)
        return authenticator

    @cached_property
    def http_session(self) -> requests.Session:
        """One HTTP session for every stream (connection reuse, record/replay adapters)."""
        return build_session(self.settings.recording, secrets=self.secret_values)

    def secret_values(self) -> list[str]:
        """Every secret known now, for scrubbing messages."""
        try:
            known = self.settings.auth.secret_values()
        except ConfigError:  # settings that do not build name no secret of their own
            known = []
        if "authenticator" in self.__dict__:
            known.extend(self.authenticator.secret_values())
        return known

    @override
    @contextmanager
    def sync_lifecycle(self) -> Iterator[None]:
        # Bad state or credential settings fail before any stream reads, with one line.
        check_state(self.state, self.streams.values())
        selected = {name for name, stream in self.streams.items() if stream.selected}
        self.run.devices.plan(
            DeviceNeeds(
                keep_list="devices" in selected,
                index=any(
                    stream.selected and isinstance(stream, NetworkConnectionStream)
                    for stream in self.streams.values()
                ),
                reach={"devices", "users"} <= selected,
            )
        )
        self.resolve_tailnets(in_background=True)
        try:
            yield
        finally:
            self.flush_output()
            self.run.devices.close_kept_bodies()
        self.end_of_run()

    def resolve_tailnets(self, *, in_background: bool = False) -> None:
        """Learn the real name of `-`, for the records and the connection test.

        The configuration streams sync first and learn it from their first body, so
        only a run without them spends a request on it (TailnetNames.resolve).
        """
        reads_configuration = any(
            stream.selected and getattr(stream, "log_kind", None) == "configuration"
            for stream in self.streams.values()
        )
        if not reads_configuration:
            self.run.names.resolve(self.settings.tailnets, in_background=in_background)

    def end_of_run(self) -> None:
        """Log the summary; fail the run if a stream or tailnet stopped early."""
        report = self.report
        report.log((name for name, s in self.streams.items() if s.selected), self.logger)
        problems = [*report.halted, *report.failed_tailnets]
        if not problems:
            return
        error = StreamHaltedError(
            "; ".join(problems) + ". Fix the cause (or raise max_attempts for repeated "
            "failures), then run again; every other stream and tailnet finished."
        )
        error.exit_code = report.exit_code
        raise error

    def connection_report(self) -> list[tuple[str, str, str | None]]:
        """Check every selected (stream, tailnet) with one small request.

        Returns (stream, tailnet, problem) rows; problem is None when the stream is usable.
        """
        with contextlib.suppress(TailscaleUserError):
            # A rejected credential is reported per stream below, with the rest.
            self.resolve_tailnets()
        return [
            (name, tailnet, stream.check_connection(tailnet))
            for name, stream in self.streams.items()
            if stream.selected and isinstance(stream, TailscaleLogStream | InventoryStream)
            for tailnet in self.settings.tailnets
        ]

    @override
    def connection_test(self) -> None:
        rows = self.connection_report()
        for stream, tailnet, problem in rows:
            verdict = "OK" if problem is None else f"NOT USABLE: {problem}"
            checked = self.streams[stream]
            if problem is None and isinstance(checked, InventoryStream):
                verdict = checked.caveat() or verdict
            name = self.run.names.name_of(tailnet)
            label = tailnet if name == tailnet else f"{tailnet} = {name}"
            self.logger.info("Connection test: %s [tailnet %s]: %s", stream, label, verdict)
        usable = sum(problem is None for *_, problem in rows)
        self.logger.info("Connection test: %d of %d stream checks usable.", usable, len(rows))
        if rows and usable == 0:
            raise TailscaleUserError(
                "no selected stream is usable: "
                + "; ".join(f"{stream}: {problem}" for stream, _, problem in rows)
            )


def main() -> None:
    """Run the tap's command line; user errors end in one line and a non-zero exit."""
    # Everything imported so far lives as long as the process: frozen, the garbage
    # collector stops rescanning it, which saves about 80 ms a run, mostly in the
    # collection at exit. Only the program does this, not the library.
    gc.freeze()
    try:
        TapTailscale.cli()
    except TailscaleUserError as exc:
        print(f"tap-tailscale: error: {redact(' '.join(str(exc).split()))}", file=sys.stderr)
        sys.exit(exc.exit_code)


__all__ = ["SETTINGS", "TapTailscale", "main"]
