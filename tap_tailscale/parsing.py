"""Stream the `logs` array out of a response body without loading the body whole.

A busy tailnet's network window can be hundreds of megabytes in one body; parsing it
whole costs 6-8 bytes of memory per byte of body. ijson's C backend yields one entry
at a time instead. (Its `use_float=True` mode overflows on u64 counters, so floats stay
Decimal, which only `old`/`new` can hold.)
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

import ijson
import orjson

if TYPE_CHECKING:
    from collections.abc import Iterator

# Enough of the body to tell `{"logs": 5}` from an empty window without a second parse.
_SNIFF_BYTES = 64 * 1024


class BodyError(Exception):
    """The body broke off, was not JSON, or had the wrong shape. The window is re-read."""


class ResponseTooLargeError(BodyError):
    """The body grew past `max_response_bytes`. The window is split instead."""


class _MeteredReader:
    """A file-like view of the raw body that counts bytes and keeps the first few KiB."""

    def __init__(self, raw: IO[bytes], max_bytes: int | None) -> None:
        self._raw = raw
        self._max_bytes = max_bytes
        self.bytes_read = 0
        self.head = bytearray()

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self._raw.read(size, decode_content=True)  # type: ignore[call-arg]
        except TypeError:  # a plain file object (replayed bodies) has no decode_content
            chunk = self._raw.read(size)
        self.bytes_read += len(chunk)
        if len(self.head) < _SNIFF_BYTES:
            self.head += chunk[: _SNIFF_BYTES - len(self.head)]
        if self._max_bytes is not None and self.bytes_read > self._max_bytes:
            raise ResponseTooLargeError(
                f"body passed max_response_bytes ({self._max_bytes:,} bytes)"
            )
        return chunk


def _check_empty_body_shape(head: bytes, bytes_read: int) -> None:
    """After a body yielded no entries, make sure it really was an empty window."""
    if bytes_read > len(head):
        raise BodyError("the body held no `logs` entries although it was large")
    try:
        document = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "logs" not in document:
        raise BodyError("the body has no `logs` field")
    if document["logs"] is not None and not isinstance(document["logs"], list):
        kind = type(document["logs"]).__name__
        raise BodyError(f"`logs` is {kind}, neither an array nor null")


def iter_log_entries(raw: IO[bytes], *, max_bytes: int | None = None) -> Iterator[Any]:
    """Yield each element of the body's top-level `logs` array as it is parsed.

    `logs: null` and `logs: []` both yield nothing. Raises BodyError when the body
    breaks off or is malformed, after yielding whatever came before the break.
    """
    reader = _MeteredReader(raw, max_bytes)
    count = 0
    try:
        for entry in ijson.items(reader, "logs.item"):
            count += 1
            yield entry
    except BodyError:
        raise
    except ijson.JSONError as exc:
        raise BodyError(f"the body broke off or is not valid JSON after {count} entries") from exc
    except Exception as exc:  # urllib3/requests raise several types for a cut connection
        raise BodyError(
            f"the connection broke after {count} entries ({type(exc).__name__})"
        ) from exc
    if count == 0:
        _check_empty_body_shape(bytes(reader.head), reader.bytes_read)
