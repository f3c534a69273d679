"""The settings the tap declares: names, types, defaults and descriptions.

This JSON schema is the single source of every default: `tap_tailscale.settings.model` reads
them from here, `--about` prints them, and tests check meltano.yml and the README
against it.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

DEFAULT_API_URL = "https://api.tailscale.com"

_STRING_LIST = th.ArrayType(th.StringType)

SETTINGS: dict[str, Any] = th.PropertiesList(
    # Authentication: exactly one method (client.auth checks it at sync time, so
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
            "`medium` or `info`; or a detection rule (`rule:TS-SET-003`, or a posture rule "
            "such as `rule:TS-PST-012`) to a severity or `off`. Overrides win over the "
            "built-in tables."
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
        description=(
            "Tries per window on 429, 5xx, resets, timeouts and broken bodies. When they are "
            "used up the stream stops cleanly (the others go on) and the next run resumes at "
            "that window, so a persistent failure costs this many requests."
        ),
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
        "request_deadline_seconds",
        th.NumberType(exclusive_minimum=0),
        default=900,
        description=(
            "Longest time one request may take from sending to the last byte of its body. A "
            "server that keeps sending slowly is cut off, and the window is halved or retried."
        ),
    ),
    th.Property(
        "max_entry_bytes",
        th.IntegerType(minimum=1024),
        default=16 * 1024 * 1024,
        description="A single log entry larger than this is skipped, counted and logged.",
    ),
    th.Property(
        "read_ahead_windows",
        th.IntegerType(minimum=1, maximum=8),
        default=2,
        description=(
            "How many window requests may be in flight per stream and tailnet. 1 reads "
            "windows strictly one after another."
        ),
    ),
    th.Property(
        "per_device_concurrency",
        # At most the HTTP session's pool of 10 connections, so none is thrown away.
        th.IntegerType(minimum=1, maximum=10),
        default=4,
        description=(
            "How many per-device requests (`device_posture`, `device_invites`: one per "
            "device) may be in flight at once. Halved on each HTTP 429, down to 1."
        ),
    ),
    th.Property(
        "inventory_interval_seconds",
        th.NumberType(minimum=0),
        default=0,
        description=(
            "Least time between two snapshots of each inventory stream (per tailnet). A run "
            "sooner than this skips the still-fresh snapshot and says so; 0 snapshots every run."
        ),
    ),
    th.Property(
        "inventory_intervals",
        th.ObjectType(additional_properties=th.NumberType(minimum=0)),
        description=(
            "Per-stream overrides of `inventory_interval_seconds`, e.g. "
            '`{"device_posture": 86400, "devices": 3600}`.'
        ),
    ),
    th.Property(
        "posture_webhook_allowed_hosts",
        _STRING_LIST,
        description=(
            "Hosts webhooks may post to (a name also allows its subdomains). A webhook to "
            "any other host is a `posture_findings` row (TS-PST-007); unset: not checked."
        ),
    ),
    th.Property(
        "posture_invite_max_age_days",
        th.IntegerType(minimum=1),
        default=7,
        description="An open user invite last emailed longer ago than this is a finding.",
    ),
    th.Property(
        "posture_key_expiry_days",
        th.IntegerType(minimum=1),
        default=14,
        description="A key expiring within this many days is a finding.",
    ),
    th.Property(
        "posture_client_releases_behind",
        th.IntegerType(minimum=1),
        default=3,
        description=(
            "A device whose client is this many stable releases behind the newest client "
            "seen in the tailnet is a finding."
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
