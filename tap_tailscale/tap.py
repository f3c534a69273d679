"""The tap: its settings, its streams, the run report, and the command-line entry point."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import pendulum
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, TapCapabilities
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_tailscale.auth import TailscaleAuthenticator, build_authenticator
from tap_tailscale.client import TailscaleLogStream
from tap_tailscale.errors import ConfigError, StreamHaltedError, TailscaleUserError, redact
from tap_tailscale.output import BufferedMsgSpecWriter
from tap_tailscale.recording import build_session, share_recording
from tap_tailscale.streams import AdminAuditStream, ConfigurationAuditStream, NetworkFlowStream

if TYPE_CHECKING:
    import click
    import requests
    from singer_sdk.streams import Stream

DEFAULT_API_URL = "https://api.tailscale.com"

_STRING_LIST = th.ArrayType(th.StringType)

SETTINGS = th.PropertiesList(
    # Authentication: exactly one method (tap_tailscale.auth checks it at sync time, so
    # discovery works with no credentials at all).
    th.Property(
        "api_key",
        th.StringType,
        secret=True,
        description=(
            "Tailscale API access token (`tskey-api-...`). Sent as the HTTP Basic username with "
            "an empty password, or as a Bearer token (see `api_key_scheme`)."
        ),
    ),
    th.Property(
        "api_key_scheme",
        th.StringType,
        default="basic",
        allowed_values=["basic", "bearer"],
        description="How the API key is sent: `basic` (default) or `bearer`.",
    ),
    th.Property(
        "client_id",
        th.StringType,
        description=(
            "OAuth client ID (trust credential). With `client_secret` for client credentials, or "
            "with an ID token for workload identity federation."
        ),
    ),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        description="OAuth client secret (`tskey-client-...`).",
    ),
    th.Property(
        "oauth_scopes",
        _STRING_LIST,
        description=(
            "Scopes to request for the OAuth token, e.g. `logs:configuration:read` and "
            "`logs:network:read`. Default: all the client was granted."
        ),
    ),
    th.Property(
        "id_token",
        th.StringType,
        secret=True,
        description="OIDC ID token (JWT) for workload identity federation.",
    ),
    th.Property(
        "id_token_file",
        th.StringType,
        description=(
            "Path of a file holding the OIDC ID token; re-read at every token refresh, because CI "
            "systems rotate it."
        ),
    ),
    th.Property(
        "id_token_env",
        th.StringType,
        description=(
            "Name of an environment variable holding the OIDC ID token; re-read at every refresh."
        ),
    ),
    # Where to read.
    th.Property(
        "tailnet",
        th.StringType,
        default="-",
        description=(
            "Tailnet ID (e.g. `T1234CNTRL`) or legacy name. `-` (default) means the credential's "
            "own tailnet."
        ),
    ),
    th.Property(
        "tailnets",
        _STRING_LIST,
        description=(
            "Several tailnets in one run (overrides `tailnet`). Each (tailnet, stream) pair keeps "
            "its own bookmark, and every record carries a `tailnet` field."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        description=(
            "Base URL of the Tailscale API. Every request, token requests included, goes here. "
            "Point it at the emulator to try the tap without an account."
        ),
    ),
    # When to read.
    th.Property(
        "start_date",
        th.DateTimeType,
        description=(
            "Where a first run begins. Default: the retention limit (90 days back for "
            "configuration, 30 for network). Older dates are clamped with a warning."
        ),
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        description=("Where runs stop (for backfills). Default: now minus `lag_seconds`."),
    ),
    th.Property(
        "lag_seconds",
        th.IntegerType(minimum=0),
        default=120,
        description=("How far behind now a window may end, because records arrive late."),
    ),
    th.Property(
        "overlap_seconds",
        th.IntegerType(minimum=0),
        default=300,
        description=(
            "How much each run re-reads before its bookmark, for late records. Re-read records "
            "keep their keys, so targets that upsert hold each once."
        ),
    ),
    th.Property(
        "configuration_window_seconds",
        th.IntegerType(minimum=1),
        default=86400,
        description="Window size for the configuration log streams (default 1 day).",
    ),
    th.Property(
        "network_window_seconds",
        th.IntegerType(minimum=1),
        default=3600,
        description="Window size for network_flow (default 1 hour).",
    ),
    th.Property(
        "min_window_seconds",
        th.IntegerType(minimum=1),
        default=60,
        description=(
            "Smallest window the tap halves down to when a window fails with 502, 504, a "
            "timeout or an oversized body."
        ),
    ),
    # Server-side filters of the configuration log.
    th.Property(
        "actor",
        _STRING_LIST,
        description=(
            "configuration_audit and admin_audit: only events by these actors (IDs, or `~text` to "
            "match login or display names)."
        ),
    ),
    th.Property(
        "target",
        _STRING_LIST,
        description=(
            "configuration_audit and admin_audit: only events whose target ID or name contains one "
            "of these strings."
        ),
    ),
    th.Property(
        "event",
        _STRING_LIST,
        description=(
            "configuration_audit and admin_audit: only these event types, such as "
            "`TAILNET.UPDATE.ACL`."
        ),
    ),
    th.Property(
        "severity_overrides",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            "admin_audit: map a normalized action, or a glob such as `device:*`, to `high`, "
            "`medium` or `info`. Overrides win over the built-in table."
        ),
    ),
    # Resilience.
    th.Property(
        "request_timeout_seconds",
        th.NumberType(exclusive_minimum=0),
        default=60,
        description="Seconds to wait for the API to connect or send more data.",
    ),
    th.Property(
        "max_attempts",
        th.IntegerType(minimum=1),
        default=5,
        description=("Tries per request on 429, 5xx, resets, timeouts and broken bodies."),
    ),
    th.Property(
        "initial_backoff_seconds",
        th.NumberType(minimum=0),
        default=2,
        description=(
            "First retry delay; it doubles each try, with jitter. Retry-After wins when sent."
        ),
    ),
    th.Property(
        "max_backoff_seconds",
        th.NumberType(minimum=0),
        default=60,
        description="Longest wait between tries, Retry-After included.",
    ),
    th.Property(
        "max_response_bytes",
        th.IntegerType(minimum=1024),
        default=256 * 1024 * 1024,
        description=("A window whose body is larger is split in half and read again."),
    ),
    th.Property(
        "circuit_breaker_failures",
        th.IntegerType(minimum=1),
        default=5,
        description=(
            "After this many failed windows in a row a stream stops cleanly; the others go on, "
            "and the next run resumes at the failed window."
        ),
    ),
    th.Property(
        "record_dir",
        th.StringType,
        description=("Save every HTTP exchange here (credentials removed), e.g. for a bug report."),
    ),
    th.Property(
        "replay_dir",
        th.StringType,
        description=("Answer every request from a recording in this folder, with no network."),
    ),
).to_dict()


@dataclass
class RunReport:
    """What happened in a run, for the summary line and the exit code."""

    records: dict[str, int] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)


def _parse_setting_time(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = pendulum.parse(str(value))
    except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
        raise ConfigError(f"{name} must be an ISO 8601 date or time, not {value!r}.") from exc
    if not isinstance(parsed, datetime):
        raise ConfigError(f"{name} must be an ISO 8601 date or time, not {value!r}.")
    return datetime.fromtimestamp(parsed.timestamp(), tz=UTC)


class TapTailscale(Tap):
    """Tailscale configuration audit logs, network flow logs, and a normalized admin audit stream.

    Reads `/api/v2/tailnet/{tailnet}/logging/configuration` and `/logging/network` in
    sliding time windows, with deterministic record keys, per-tailnet bookmarks, adaptive
    windows and bounded memory.
    """

    name = "tap-tailscale"
    config_jsonschema = SETTINGS
    message_writer_class = BufferedMsgSpecWriter
    capabilities: ClassVar[list[CapabilitiesEnum]] = [*Tap.capabilities, TapCapabilities.TEST]

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK logs each schema error on its own line and exits 1; users get one line.
        try:
            return super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            details = "; ".join(exc.errors) if exc.errors else str(exc)
            raise ConfigError(
                f"invalid settings: {details}. See `tap-tailscale --about` for every setting."
            ) from None

    @override
    def discover_streams(self) -> list[Stream]:
        return [ConfigurationAuditStream(self), NetworkFlowStream(self), AdminAuditStream(self)]

    @cached_property
    def report(self) -> RunReport:
        """This run's counters."""
        return RunReport()

    @cached_property
    def api_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @cached_property
    def tailnets(self) -> list[str]:
        """Every tailnet this run reads, in order, without repeats."""
        configured = self.config.get("tailnets") or [self.config.get("tailnet") or "-"]
        return list(dict.fromkeys(str(t) for t in configured))

    @cached_property
    def start_date(self) -> datetime | None:
        """The configured start_date, parsed."""
        return _parse_setting_time(self.config.get("start_date"), "start_date")

    @cached_property
    def end_date(self) -> datetime | None:
        """The configured end_date, parsed."""
        return _parse_setting_time(self.config.get("end_date"), "end_date")

    @cached_property
    def authenticator(self) -> TailscaleAuthenticator:
        """One authenticator for every stream, so an OAuth token is fetched once per lifetime."""
        authenticator = build_authenticator(
            self.config,
            api_url=self.api_url,
            allow_anonymous=bool(self.config.get("replay_dir")),
        )
        if authenticator.token_session is not None:
            # Token exchanges join the recording (redacted), and replay answers them.
            share_recording(self.http_session, authenticator.token_session)
        return authenticator

    @cached_property
    def http_session(self) -> requests.Session:
        """One HTTP session for every stream (connection reuse, record/replay adapters)."""
        return build_session(self.config, secrets=self.secret_values)

    def flush_output(self) -> None:
        """Push buffered RECORD lines to stdout."""
        if isinstance(self.message_writer, BufferedMsgSpecWriter):
            self.message_writer.flush()

    def secret_values(self) -> list[str]:
        """Every secret known now, for scrubbing messages."""
        values = [self.config.get(k) for k in ("api_key", "client_secret", "id_token")]
        known = [v for v in values if isinstance(v, str) and v]
        if "authenticator" in self.__dict__:
            known.extend(self.authenticator.secret_values())
        return known

    def report_window(self, stream: str, records: int) -> None:
        """Count a completed window and its records."""
        self.report.windows[stream] = self.report.windows.get(stream, 0) + 1
        self.report.records[stream] = self.report.records.get(stream, 0) + records

    def report_rejected(self, stream: str) -> None:
        """Count an entry that could not be emitted."""
        self.report.rejected[stream] = self.report.rejected.get(stream, 0) + 1

    def report_skip(self, stream: str, tailnet: str, reason: str) -> None:
        """Note a (stream, tailnet) that was skipped with a warning."""
        self.report.skipped.append(f"{stream} [tailnet {tailnet}]: {reason}")

    def report_halt(self, stream: str, tailnet: str, resume_at: datetime, error: str) -> None:
        """Note a (stream, tailnet) stopped by the circuit breaker."""
        self.report.halted.append(
            f"{stream} [tailnet {tailnet}] stopped after repeated failures and will resume at "
            f"{resume_at.isoformat()} (last error: {error})"
        )

    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        # The SDK marks sync_all final, but a stream stopped by the circuit breaker must
        # fail the run only after every other stream has synced; nothing else runs then.
        # Fail on bad credential settings before any stream starts, with one line.
        _ = self.authenticator
        try:
            super().sync_all()
        finally:
            # Records after the last STATE are still buffered; a failed run emits them
            # too, as it always did (no STATE claims them, so the next run re-reads them).
            self.flush_output()
        self._log_summary()
        if self.report.halted:
            raise StreamHaltedError(
                "; ".join(self.report.halted)
                + ". Fix the cause or raise circuit_breaker_failures, then run again."
            )

    def connection_report(self) -> list[tuple[str, str, str | None]]:
        """Check every selected (stream, tailnet) with one small request.

        Returns (stream, tailnet, problem) rows; problem is None when the stream is usable.
        """
        _ = self.authenticator
        rows: list[tuple[str, str, str | None]] = []
        for name, stream in self.streams.items():
            if not stream.selected or not isinstance(stream, TailscaleLogStream):
                continue
            rows.extend(
                (name, tailnet, stream.check_connection(tailnet)) for tailnet in self.tailnets
            )
        return rows

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        # The SDK's test syncs one record per stream and cannot tell "no events yet" from
        # "not allowed". This one asks each stream's endpoint once and says what is wrong.
        if value != CliTestOptionValue.All.value:
            super().cb_test(ctx, param, value)
            return
        config: Any = ctx.params.get("config")
        tap = cls(
            config=config.config if config else None,
            parse_env_config=bool(config and config.parse_env),
            validate_config=True,
        )
        rows = tap.connection_report()
        for stream, tailnet, problem in rows:
            verdict = "OK" if problem is None else f"NOT USABLE: {problem}"
            tap.logger.info("Connection test: %s [tailnet %s]: %s", stream, tailnet, verdict)
        usable = sum(problem is None for *_, problem in rows)
        tap.logger.info("Connection test: %d of %d stream checks usable.", usable, len(rows))
        if rows and usable == 0:
            raise ConfigError(
                "no selected stream is usable: "
                + "; ".join(f"{stream}: {problem}" for stream, _, problem in rows)
            )
        ctx.exit()

    def _log_summary(self) -> None:
        report = self.report
        parts = [
            f"{name}: {report.records.get(name, 0)} records in {report.windows.get(name, 0)} "
            f"windows, {report.rejected.get(name, 0)} rejected"
            for name, stream in self.streams.items()
            if stream.selected
        ]
        # Rejected entries are data the user does not have: say so above INFO.
        level = logging.WARNING if any(report.rejected.values()) else logging.INFO
        self.logger.log(level, "Run summary: %s.", "; ".join(parts) or "no streams selected")
        for skipped in report.skipped:
            self.logger.warning("Skipped %s", skipped)


def _one_line(error: BaseException, secrets: list[str]) -> str:
    return redact(" ".join(str(error).split()), secrets)


def main() -> None:
    """Run the tap's command line; user errors end in one line and a non-zero exit."""
    try:
        TapTailscale.cli()
    except TailscaleUserError as exc:
        print(f"tap-tailscale: error: {_one_line(exc, [])}", file=sys.stderr)
        sys.exit(exc.exit_code)
