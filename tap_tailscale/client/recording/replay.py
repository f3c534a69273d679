"""Replaying a recording: each request answered from the folder, never from a socket.

Replaying answers each request from the exchange with the same method, path and query
(in any order). Exchanges recorded for the same request (retries) are served in recorded
order, and the last one repeats once they run out. See tap_tailscale.client.recording.record for the
folder's layout.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from typing_extensions import override

from tap_tailscale.errors import ConfigError, MissingRecordingError, redact

if TYPE_CHECKING:
    from pathlib import Path

    from _typeshed import WriteableBuffer

Secrets = Callable[[], list[str]]

_Key = tuple[str, str, tuple[tuple[str, str], ...]]

PREFIXES = ("https://", "http://")
CHUNK_BYTES = 256 * 1024


class ReplayAdapter(BaseAdapter):
    """Answers every request from a recording folder; it never opens a socket."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        if not directory.is_dir():
            raise ConfigError(f"replay_dir {directory} is not a folder.")
        self.directory = directory
        self._exchanges: dict[_Key, list[tuple[str, dict[str, Any]]]] = {}
        for path in sorted(directory.glob("*.json"), key=exchange_number):
            if not path.stem.isdigit():
                continue
            metadata = _load_exchange(path)
            key = _key(metadata["method"], metadata["path"], _pairs(metadata.get("query") or {}))
            self._exchanges.setdefault(key, []).append((path.stem, metadata))
        if not self._exchanges:
            raise ConfigError(
                f"replay_dir {directory} holds no recorded exchanges (0001.json, ...)."
            )
        self._served: dict[_Key, int] = {}
        self._lock = threading.Lock()

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
        """The recorded response to `request`, or the recorded failure raised again."""
        del stream, timeout, verify, cert, proxies
        parts = urlsplit(request.url or "")
        method = (request.method or "GET").upper()
        key = _key(method, parts.path or "/", parse_qsl(parts.query, keep_blank_values=True))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            exchanges = self._exchanges.get(key)
            if not exchanges:
                raise MissingRecordingError(
                    redact(f"no recorded response for {method} {target} in {self.directory}"),
                    request=request,
                )
            served = self._served.get(key, 0)
            self._served[key] = served + 1
        name, metadata = exchanges[min(served, len(exchanges) - 1)]
        error = metadata.get("error")
        if error:
            raise _request_error(str(error))(
                redact(f"replayed {error} (exchange {name}) for {method} {target}"),
                request=request,
            )
        headers = {str(k): str(v) for k, v in (metadata.get("headers") or {}).items()}
        response = requests.Response()
        response.status_code = int(metadata["status"])
        response.reason = str(metadata.get("reason") or "")
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        response.elapsed = timedelta(seconds=float(metadata.get("elapsed") or 0))
        body = (self.directory / str(metadata["body"])).open("rb")
        response.raw = file_body(body, headers, metadata)
        return response

    def close(self) -> None:
        """Nothing to release: bodies are opened per response and closed with it."""


# ---- Helpers --------------------------------------------------------------------------


class _BrokenBody(io.RawIOBase):
    """A recorded body that broke off: its bytes, then the kind of failure it had live."""

    def __init__(self, body: IO[bytes], error: type[OSError]) -> None:
        super().__init__()
        self._body = body
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        if not data and len(view):
            # urllib3 turns these into ProtocolError / ReadTimeoutError, as on a real socket.
            raise self._error("the recorded response broke off here")
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def file_body(
    body: IO[bytes], headers: Mapping[str, str], metadata: Mapping[str, Any]
) -> urllib3.HTTPResponse:
    """A urllib3 response reading a stored body, so `raw.read(n, decode_content=True)` works."""
    body_error = metadata.get("body_error")
    if body_error:
        failure = TimeoutError if "Timeout" in str(body_error) else ConnectionResetError
        body = io.BufferedReader(_BrokenBody(body, failure))
    return urllib3.HTTPResponse(
        body=body,
        headers=headers,
        status=int(metadata["status"]),
        reason=str(metadata.get("reason") or ""),
        preload_content=False,
        decode_content=False,
        request_method=str(metadata.get("method") or "GET"),
    )


def _load_exchange(path: Path) -> dict[str, Any]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(metadata, dict) or not {"method", "path"} <= metadata.keys():
            raise TypeError("no method and path")
        if not metadata.get("error"):
            int(metadata["status"])
            if not (path.parent / str(metadata["body"])).is_file():
                raise FileNotFoundError(metadata["body"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"replay_dir: {path} is not a usable recorded exchange ({type(exc).__name__})."
        ) from None
    return metadata


def _key(method: str, path: str, query: Iterable[tuple[str, str]]) -> _Key:
    return (method.upper(), path, tuple(sorted(query)))


def _pairs(query: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for name, values in query.items():
        for value in values if isinstance(values, list) else [values]:
            yield str(name), str(value)


def _request_error(name: str) -> type[requests.exceptions.RequestException]:
    error = getattr(requests.exceptions, name, None)
    if isinstance(error, type) and issubclass(error, requests.exceptions.RequestException):
        return error
    return requests.exceptions.ConnectionError


def exchange_number(path: Path) -> int:
    stem = path.name.split(".", 1)[0]
    return int(stem) if stem.isdigit() else 0
