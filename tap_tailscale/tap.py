"""The tap: builds the settings and shared services, lists the streams, ends the run."""

from __future__ import annotations

import contextlib
import gc
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property, partial
from typing import TYPE_CHECKING, ClassVar

from singer_sdk.helpers.capabilities import CapabilitiesEnum, TapCapabilities
from typing_extensions import override

from tap_tailscale.auth import TailscaleAuthenticator, build_authenticator
from tap_tailscale.derived_streams import DERIVED_STREAMS, NetworkConnectionStream
from tap_tailscale.device_streams import DEVICE_DETAIL_STREAMS
from tap_tailscale.errors import ConfigError, StreamHaltedError, TailscaleUserError, redact
from tap_tailscale.inventory_streams import INVENTORY_STREAMS, InventoryStream
from tap_tailscale.log_stream import TailscaleLogStream
from tap_tailscale.output import BufferedMsgSpecWriter
from tap_tailscale.posture_findings import PostureFindingsStream
from tap_tailscale.posture_streams import POSTURE_STREAMS
from tap_tailscale.recording import build_session, share_recording
from tap_tailscale.report import RunReport
from tap_tailscale.sdk_internals import TapInternals
from tap_tailscale.services import StreamServices
from tap_tailscale.settings import Settings, log_unknown_settings
from tap_tailscale.settings_schema import SETTINGS
from tap_tailscale.state_check import check_state
from tap_tailscale.streams import AdminAuditStream, ConfigurationAuditStream, NetworkFlowStream
from tap_tailscale.tailnet_names import resolve_tailnet_names

if TYPE_CHECKING:
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
    def services(self) -> StreamServices:
        """What every stream receives."""
        return StreamServices(
            settings=self.settings,
            report=self.report,
            authenticator=lambda: self.authenticator,
            session=lambda: self.http_session,
            secrets=self.secret_values,
        )

    @override
    def discover_streams(self) -> list[Stream]:
        services = self.services
        logs: list[TailscaleLogStream] = [
            stream_class(self, services)
            for stream_class in (
                ConfigurationAuditStream,
                NetworkFlowStream,
                AdminAuditStream,
                *DERIVED_STREAMS,
            )
        ]
        services.views = {}
        for stream in logs:
            services.views.setdefault(stream.log_kind, []).append(stream)
        snapshots = [
            stream_class(self, services)
            for stream_class in (*INVENTORY_STREAMS, *DEVICE_DETAIL_STREAMS, *POSTURE_STREAMS)
        ]
        findings = PostureFindingsStream(self, services)
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
    def before_sync(self) -> None:
        # Bad state or credential settings fail before any stream reads, with one line.
        check_state(self.state, self.streams.values())
        self.services.device_list_wanted = self.streams["devices"].selected
        self.services.reach_wanted = self.streams["devices"].selected and (
            self.streams["users"].selected
        )
        self.services.device_index_wanted = any(
            stream.selected and isinstance(stream, NetworkConnectionStream)
            for stream in self.streams.values()
        )
        self.resolve_tailnets(in_background=True)

    def resolve_tailnets(self, *, in_background: bool = False) -> None:
        """Learn the real name of `-`, for the records and the connection test.

        The configuration streams sync first and learn it from their first body, so
        only a run without them spends a request on it. A sync sends that request beside
        its first windows' and waits for the answer only when a record needs the name:
        under API latency it would otherwise delay every run by one round trip.
        """
        reads_configuration = any(
            stream.selected and getattr(stream, "log_kind", None) == "configuration"
            for stream in self.streams.values()
        )
        if reads_configuration:
            return
        ask = partial(
            resolve_tailnet_names,
            self.settings.tailnets,
            self.settings,
            self.http_session,
            self.authenticator,
        )
        if not in_background:
            self.services.tailnet_names.update(ask())
            return
        asker = ThreadPoolExecutor(1, thread_name_prefix="tailnet-name")
        self.services.tailnet_names_on_the_way = asker.submit(ask)
        asker.shutdown(wait=False)

    @override
    def release_run_resources(self) -> None:
        self.services.close_kept_bodies()

    @override
    def after_sync(self) -> None:
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
            name = self.services.tailnet_name(tailnet)
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
