"""The HTTP session every stream shares, and record/replay of its exchanges.

A recording is a folder of numbered exchanges, one per request, in the order sent:

- `0001.json`: method, path, query, status, reason, response headers, timing, and the
  request's User-Agent and Accept (no other request header, and never a request body);
- `0001.body`: the response body as the tap read it (decompressed), byte for byte.

Credentials are removed before anything is written: Authorization is never recorded,
cookie and authentication-challenge headers are dropped, and every known secret and
every credential-shaped string is scrubbed from the metadata and from every body,
whatever its status (a 200 may echo a credential too). Token endpoint and error bodies
also lose their token fields (so `access_token` never reaches disk, known or not), and
inventory bodies the fields that hold a credential (tap_tailscale.secret_fields).

Replaying answers each request from the exchange with the same method, path and query
(in any order), without opening a socket. Exchanges recorded for the same request
(retries) are served in recorded order, and the last one repeats once they run out.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from typing_extensions import override

from tap_tailscale.client.recording.replay import (
    CHUNK_BYTES,
    PREFIXES,
    ReplayAdapter,
    exchange_number,
    file_body,
)
from tap_tailscale.errors import REDACTED, ConfigError, MissingRecordingError, redact
from tap_tailscale.secret_fields import scrub_document

if TYPE_CHECKING:
    from tap_tailscale.settings import RecordingSettings

Secrets = Callable[[], list[str]]
__all__ = ["MissingRecordingError", "Recorder", "RecordingAdapter", "build_session"]

# Token and error bodies are scrubbed in memory; real ones are a few hundred bytes.
_SCRUB_LIMIT_BYTES = 1024 * 1024
# redact() ignores shorter secrets; a credential-shaped string is far shorter than this.
_MIN_SECRET_CHARS = 4
_PATTERN_MARGIN_CHARS = 4096
_REQUEST_HEADERS = ("User-Agent", "Accept")
# Headers that can carry or echo a credential, whatever their value looks like.
_DROPPED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "www-authenticate",
        "proxy-authenticate",
    }
)
_ENCODING_HEADERS = ("content-encoding", "content-length")
_TOKEN_PATHS = ("/oauth/token", "/oauth/token-exchange")
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token", "client_secret")
# Bodies of objects are parsed to redact secret fields up to this size; larger ones
# (the device list of a big tailnet, whose objects have no such field) and the log
# bodies are streamed, so memory stays flat.
_FIELD_SCRUB_LIMIT_BYTES = 4 * 1024 * 1024
_LOG_PATH = re.compile(r"/logging/(?:configuration|network)$")


def build_session(
    settings: RecordingSettings, *, secrets: Callable[[], list[str]]
) -> requests.Session:
    """The session every stream shares: plain, or recording to `record_dir`, or replaying.

    `settings` is `Settings.recording`, which has checked that not both are set.
    """
    record_dir = settings.record_dir
    replay_dir = settings.replay_dir
    session = requests.Session()
    if record_dir:
        recorder = Recorder(Path(record_dir), secrets)
        for prefix in PREFIXES:
            session.mount(prefix, RecordingAdapter(recorder, HTTPAdapter()))
    elif replay_dir:
        replayer = ReplayAdapter(Path(replay_dir))
        for prefix in PREFIXES:
            session.mount(prefix, replayer)
    return session


def share_recording(session: requests.Session, other: requests.Session) -> None:
    """Make `other` record into, or replay from, the same folder as `session`.

    For a second session such as the OAuth authenticator's: its exchanges join the same
    numbered sequence, and its own adapters (with their retry settings) keep doing the I/O.
    """
    for prefix, adapter in session.adapters.items():
        current = other.adapters.get(prefix)
        if isinstance(adapter, RecordingAdapter) and not isinstance(current, RecordingAdapter):
            other.mount(prefix, RecordingAdapter(adapter.recorder, current or HTTPAdapter()))
        elif isinstance(adapter, ReplayAdapter):
            other.mount(prefix, adapter)


# ---- Recording ------------------------------------------------------------------------


class Recorder:
    """Numbers exchanges and writes them, scrubbed, into one folder."""

    def __init__(self, directory: Path, secrets: Secrets) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"record_dir {directory} cannot be created ({exc.strerror or type(exc).__name__})."
            ) from None
        self.directory = directory
        self._secrets = secrets
        self._lock = threading.Lock()
        # Continue after an earlier run's exchanges rather than overwrite them.
        self._last = max((exchange_number(p) for p in directory.glob("*.json")), default=0)

    def next_name(self) -> str:
        """Reserve the next exchange number, as its file stem."""
        with self._lock:
            self._last += 1
            return f"{self._last:04d}"

    def scrub(self, value: Any) -> Any:
        """`value` (JSON-shaped) with every secret and credential-shaped string removed."""
        secrets = self._secrets()
        return _scrub_json(value, secrets)

    def scrub_body(self, body: bytes) -> bytes:
        """A token or error body with its tokens and every known secret removed."""
        text = body.decode("utf-8", "surrogateescape")
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and any(field in document for field in _TOKEN_FIELDS):
            for field in _TOKEN_FIELDS:
                if field in document:
                    document[field] = REDACTED
            text = json.dumps(document)
        return redact(text, self._secrets()).encode("utf-8", "surrogateescape")

    def scrub_stream(self, source: IO[bytes], path: Path) -> bool:
        """Copy `source` to `path` without any secret; True if anything was removed.

        Memory stays flat for any size. Known secrets are replaced in the whole text
        read so far, and the last `keep` characters wait for the next read, so a secret
        cut by a read boundary is whole by then. Credential-shaped patterns are applied
        only to what is written, never to a secret that may still be incomplete.
        """
        secrets = [s for s in self._secrets() if s and len(s) >= _MIN_SECRET_CHARS]
        keep = max((len(s) for s in secrets), default=0) + _PATTERN_MARGIN_CHARS
        carry, changed = "", False
        with path.open("wb") as out:
            while True:
                chunk = source.read(CHUNK_BYTES)
                text = carry + chunk.decode("utf-8", "surrogateescape")
                for secret in secrets:
                    if secret in text:
                        text, changed = text.replace(secret, REDACTED), True
                cut = max(len(text) - keep, 0) if chunk else len(text)
                written = redact(text[:cut])
                changed = changed or len(written) != cut or written != text[:cut]
                out.write(written.encode("utf-8", "surrogateescape"))
                carry = text[cut:]
                if not chunk:
                    return changed

    def save(self, name: str, metadata: dict[str, Any]) -> None:
        """Write `name`.json last, so a replay never sees an exchange without its body."""
        text = json.dumps(self.scrub(metadata), indent=2, ensure_ascii=False) + "\n"
        temporary = self.directory / f"{name}.json.tmp"
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.directory / f"{name}.json")


class RecordingAdapter(BaseAdapter):
    """Sends through `inner` and writes each exchange to the recorder's folder.

    The body is copied to disk in chunks before `send` returns, and the caller reads it
    back from the file, so memory stays flat and the recording is complete even when the
    caller stops reading early.
    """

    def __init__(self, recorder: Recorder, inner: BaseAdapter) -> None:
        super().__init__()
        self.recorder = recorder
        self.inner = inner

    @override
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send `request` for real, record the exchange, and return the response."""
        del stream  # always streamed, so the body can be copied in chunks
        name = self.recorder.next_name()
        metadata = _request_metadata(request)
        started = time.monotonic()
        try:
            response = self.inner.send(
                request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )
        except requests.exceptions.RequestException as exc:
            metadata["error"] = type(exc).__name__
            metadata["recorded_at"] = _now()
            metadata["elapsed"] = round(time.monotonic() - started, 6)
            self.recorder.save(name, metadata)
            raise
        metadata["elapsed"] = round(time.monotonic() - started, 6)
        encoding = response.headers.get("Content-Encoding", "")
        decode = bool(encoding) and _decodable(encoding)
        headers: dict[str, str] = {}
        for header, value in response.headers.items():
            lower = header.lower()
            # The stored body is decompressed, so the encoding and its length no longer apply.
            if lower in _DROPPED_HEADERS or (decode and lower in _ENCODING_HEADERS):
                continue
            headers[header] = value
        metadata.update(status=response.status_code, reason=response.reason, headers=headers)
        if decode:
            metadata["decoded_from"] = encoding
        body = self._keep_body(name, response, metadata, decode=decode)
        metadata["recorded_at"] = _now()
        try:
            self.recorder.save(name, metadata)
        except BaseException:
            body.close()
            raise
        response.raw = file_body(body, headers, metadata)
        return response

    def _keep_body(
        self, name: str, response: requests.Response, metadata: dict[str, Any], *, decode: bool
    ) -> IO[bytes]:
        """Copy the body, scrubbed, to `name`.body; return a file the caller reads it from.

        The caller needs the body as sent (a token endpoint's real token, a log entry
        that happens to echo a credential), so only the copy on disk is scrubbed; the
        caller reads an anonymous temporary file that vanishes once closed.
        """
        path = self.recorder.directory / f"{name}.body"
        body: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            body_error = _copy_body(response.raw, body, decode=decode)
            body.seek(0)
            if response.status_code >= 400 or _is_token_path(metadata["path"]):
                scrubbed = self._scrub_small(body, path, metadata)
            elif _has_objects(metadata["path"]) and _size(body) <= _FIELD_SCRUB_LIMIT_BYTES:
                scrubbed = self._scrub_fields(body, path)
            else:
                scrubbed = self.recorder.scrub_stream(body, path)
            size = path.stat().st_size
            if scrubbed:
                metadata["headers"] = {
                    k: str(size) if k.lower() == "content-length" else v
                    for k, v in metadata["headers"].items()
                }
                metadata["body_scrubbed"] = True
            body.seek(0)
        except BaseException:
            body.close()
            raise
        metadata.update(body=path.name, body_bytes=size)
        if body_error:
            metadata["body_error"] = body_error
        return body

    def _scrub_small(self, body: IO[bytes], path: Path, metadata: dict[str, Any]) -> bool:
        """Token and error bodies: their token fields too, in memory; always marked scrubbed."""
        held = body.read(_SCRUB_LIMIT_BYTES + 1)
        if len(held) > _SCRUB_LIMIT_BYTES:
            # Cut off rather than written unscrubbed; real ones are far smaller.
            metadata["body_truncated"] = True
        path.write_bytes(self.recorder.scrub_body(held[:_SCRUB_LIMIT_BYTES]))
        return True

    def _scrub_fields(self, body: IO[bytes], path: Path) -> bool:
        """An inventory body: secret fields redacted (tap_tailscale.secret_fields), then
        scrubbed like any body."""
        held = body.read()
        body.seek(0)
        try:
            document, changed = scrub_document(json.loads(held))
        except ValueError:
            return self.recorder.scrub_stream(body, path)
        if not changed:
            return self.recorder.scrub_stream(body, path)
        cleaned = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogateescape")
        self.recorder.scrub_stream(io.BytesIO(cleaned), path)
        return True

    def close(self) -> None:
        """Close the wrapped adapter's connections."""
        self.inner.close()


# ---- Replay ---------------------------------------------------------------------------


def _copy_body(raw: urllib3.BaseHTTPResponse, out: IO[bytes], *, decode: bool) -> str | None:
    """Copy a live body to `out` in chunks; return the failure that cut it short, if any."""
    try:
        # read1 returns what has arrived, so a body that breaks off keeps all it had.
        while chunk := raw.read1(CHUNK_BYTES, decode_content=decode):
            out.write(chunk)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return type(exc).__name__
    finally:
        raw.close()
        raw.release_conn()
    return None


def _request_metadata(request: requests.PreparedRequest) -> dict[str, Any]:
    parts = urlsplit(request.url or "")
    return {
        "method": (request.method or "GET").upper(),
        "path": parts.path or "/",
        "query": parse_qs(parts.query, keep_blank_values=True),
        "request_headers": {
            name: request.headers[name] for name in _REQUEST_HEADERS if name in request.headers
        },
    }


def _scrub_json(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {_scrub_json(k, secrets): _scrub_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(item, secrets) for item in value]
    return value


def _decodable(encoding: str) -> bool:
    codings = [part.strip().lower() for part in encoding.split(",") if part.strip()]
    supported = urllib3.HTTPResponse.CONTENT_DECODERS
    return bool(codings) and all(coding in supported for coding in codings)


def _has_objects(path: str) -> bool:
    """Inventory and posture bodies (not the two log bodies, which can be huge)."""
    return _LOG_PATH.search(path.rstrip("/")) is None


def _size(body: IO[bytes]) -> int:
    size = body.seek(0, os.SEEK_END)
    body.seek(0)
    return size


def _is_token_path(path: str) -> bool:
    return path.rstrip("/").endswith(_TOKEN_PATHS)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
