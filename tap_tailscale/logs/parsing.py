"""Stream the `logs` array out of a response body without loading the body whole.

A busy tailnet's network window can be hundreds of megabytes in one body; parsing it
whole costs 6-8 bytes of memory per byte of body. The body is instead read in blocks of
`BLOCK_BYTES`, and each block's complete entries are decoded at once by msgspec (C, and
three times faster than ijson's C backend here). Whatever the block splitter is not sure
of (an unusual layout, a broken or cut-off body, an entry too large, too deep or with a
number Python will not parse) is read one value at a time instead: each value is first
delimited by `tap_tailscale.logs.jsonscan`, then decoded alone, or skipped unread and
replaced by an `UnreadableEntry` that the streams reject and count. Entries and errors
are the ones a plain ijson stream gives, except that no hostile entry can crash the
process (ijson's C backend segfaults on a 4,301-digit integer), exhaust memory or
stop the rest of the window from being read. Numbers with a fraction or exponent become
Decimal, exactly as written; integers too long for Python stay exact, as strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import orjson

from tap_tailscale.errors import (
    BodyError,
    MalformedJSONError,
    MissingLogsError,
    RejectedEntryError,
)
from tap_tailscale.logs.jsonscan import SkippedValue, ValueReader
from tap_tailscale.logs.nesting import nests_deeper_than
from tap_tailscale.logs.records import JSON_DECODER

# Enough of the body to tell `{"logs": 5}` from an empty window without a second parse.
_SNIFF_BYTES = 64 * 1024
# Small blocks decode fastest (their objects stay in CPU caches and the young GC
# generation): 64 KiB measured 1.4x faster than 1 MiB, and holds ~60 flow entries.
BLOCK_BYTES = 64 * 1024
# An entry bigger than this ends block decoding and is read on its own. Small enough that
# the buffer and its copies stay far inside the memory goal.
_MAX_BUFFER_BYTES = 4 * 1024 * 1024
# Defaults for the limits on one entry. Real entries nest a handful of levels and weigh
# kilobytes; the limits keep a hostile one from costing memory or recursion.
MAX_ENTRY_DEPTH = 64
MAX_ENTRY_BYTES = 16 * 1024 * 1024

#: Decodes a JSON array of whole entries into the objects a stream's shaping takes, or
#: returns None to have the block decoded into dicts (records.decode_flow_block).
BlockDecoder = Callable[[bytes], "list[Any] | None"]
_JSON_STRING = rb'"(?:[^"\\]|\\.)*"'
_JSON_SCALAR = _JSON_STRING + rb"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null"
# The body up to the `logs` array's first element, with only scalar fields before it
# (configuration bodies carry `version` and `tailnet` first).
_ARRAY_START = (
    rb"\s*\{(?:\s*" + _JSON_STRING + rb"\s*:\s*(?:" + _JSON_SCALAR + rb")\s*,)*"
    rb'\s*"%s"\s*:\s*\['
)
_LOGS_START = re.compile(_ARRAY_START % b"logs")
# The first entry's first key: compact JSON from one encoder starts every entry with it.
_FIRST_KEY = re.compile(rb'\{"(\w+)":', re.ASCII)
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = b"{}[]"
_COLON, _QUOTE = b':"'


class _MeteredReader:
    """A file-like view of the raw body that counts bytes and keeps the first few KiB."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
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
        return chunk


def _check_empty_body_shape(
    head: bytes, bytes_read: int, array: str = "logs", *, optional: bool = False
) -> None:
    """After a body yielded no entries, make sure it really was an empty window."""
    if bytes_read > len(head):
        raise BodyError(f"the body held no `{array}` entries although it was large")
    try:
        document = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or (array not in document and not optional):
        if array == "logs":
            raise MissingLogsError(
                'the body has no `logs` field (an empty window has `"logs": null`)'
            )
        raise BodyError(f"the body has no `{array}` field")
    found = document.get(array)
    if found is not None and not isinstance(found, list):
        kind = type(found).__name__
        raise BodyError(f"`{array}` is {kind}, neither an array nor null")


class UnreadableEntry(Mapping[str, Any]):
    """A `logs` entry skipped unread: too large, nested too deep, or with an unreadable number.

    It stands in the stream where the entry was, so every stream's usual path rejects and
    counts it: looking anything up in it raises RejectedEntryError with the reason.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __getitem__(self, key: str) -> Any:
        raise RejectedEntryError(self.reason, None)

    def __iter__(self) -> Iterator[str]:
        raise RejectedEntryError(self.reason, None)

    def __len__(self) -> int:
        raise RejectedEntryError(self.reason, None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadableEntry) and other.reason == self.reason

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"UnreadableEntry({self.reason!r})"


def iter_log_entries(
    raw: IO[bytes],
    *,
    max_entry_bytes: int = MAX_ENTRY_BYTES,
    max_depth: int = MAX_ENTRY_DEPTH,
    block_decoder: BlockDecoder | None = None,
    array: str = "logs",
    optional: bool = False,
) -> Iterator[Any]:
    """Yield each element of the body's top-level `logs` array as it is parsed.

    `array` names another top-level array to stream instead (`devices` for the device
    list, whose body has the same `{"<name>": [objects]}` form); with `optional`, a body
    without that field is an empty list rather than a broken body.

    `logs: null` and `logs: []` both yield nothing. An entry over `max_entry_bytes`, or
    nested more than `max_depth` levels, is skipped in flat memory and yielded as an
    UnreadableEntry. Raises BodyError when the body breaks off or is malformed, after
    yielding whatever came before the break. Entries are dicts (or other JSON values),
    except those of blocks that `block_decoder` takes.
    """
    reader = _MeteredReader(raw)
    body = ValueReader(reader.read, max_entry_bytes, max_depth)
    count = 0
    try:
        # Entries come in runs (whole decoded blocks): one generator step per run.
        for run in _entries(body, block_decoder, array):
            count += len(run)
            yield from run
    except BodyError:
        raise
    except MalformedJSONError:
        raise BodyError(f"the body broke off or is not valid JSON after {count} entries") from None
    except Exception as exc:  # urllib3/requests raise several types for a cut connection
        raise BodyError(
            f"the connection broke after {count} entries ({type(exc).__name__})"
        ) from exc
    if count == 0:
        _check_empty_body_shape(bytes(reader.head), reader.bytes_read, array, optional=optional)


def _array_start(array: str) -> re.Pattern[bytes]:
    if array == "logs":
        return _LOGS_START
    return re.compile(_ARRAY_START % re.escape(array).encode())


def _entries(body: ValueReader, decoder: BlockDecoder | None, array: str) -> Iterator[list[Any]]:
    """The `logs` entries in runs: whole blocks by msgspec while that is safe, else one by one."""
    body.more()
    start = _array_start(array).match(body.buf)
    if start is None or not _is_json(bytes(start.group()) + b"]}"):
        yield from _document(body, decoder, array)
        return
    body.pos = start.end()
    yield from _logs_array(body, decoder)
    if not body.close_or_comma(_RBRACE):
        yield from _members(body, decoder, array)
    body.end()


def _document(body: ValueReader, decoder: BlockDecoder | None, array: str) -> Iterator[list[Any]]:
    body.take(_LBRACE)
    if body.peek() == _RBRACE:
        body.pos += 1
    else:
        yield from _members(body, decoder, array)
    body.end()


def _members(body: ValueReader, decoder: BlockDecoder | None, array: str) -> Iterator[list[Any]]:
    """An object's members from a key on; the elements of any `array` among them."""
    while True:
        if body.peek() != _QUOTE:
            body.fail("expected a key")
        key = body.value()
        body.take(_COLON)
        if key == array and body.peek() == _LBRACKET:
            body.pos += 1
            yield from _logs_array(body, decoder)
        else:
            body.value()  # read to check it, as ijson did, and dropped
        if body.close_or_comma(_RBRACE):
            return


def _logs_array(body: ValueReader, decoder: BlockDecoder | None) -> Iterator[list[Any]]:
    """The elements of an array whose `[` is behind the cursor, and its `]`, in runs."""
    if body.peek() == _RBRACKET:
        body.pos += 1
        return
    while True:
        block = _next_block(body, decoder)
        if type(block) is list:
            yield block
            del block  # free the block's entries before reading the next
            continue
        until = int(block)  # type: ignore[arg-type]
        # At least one value, then on to the end of a block that was refused.
        while True:
            entry = body.value()
            yield [UnreadableEntry(entry.reason) if type(entry) is SkippedValue else entry]
            if body.close_or_comma(_RBRACKET):
                return
            if body.offset >= until:
                break


def _next_block(body: ValueReader, decoder: BlockDecoder | None) -> list[Any] | int:
    """The next run of whole entries, decoded at once; or where one-by-one reading must reach.

    A block ends just before a `},{"<first key>":` separator. Such a separator is never
    inside a string, but it may sit in an array nested inside an entry. A block that
    starts between two entries and ends in a nested array is not a valid JSON array, so
    the decode fails; a block that decodes is therefore exactly a run of whole entries,
    and the next block again starts between two entries. A block that fails, or that
    could hold an entry over a limit, is read one value at a time up to its end.
    """
    first_key = _FIRST_KEY.match(body.buf, body.pos)
    if first_key is None:
        return body.offset
    separator = b'},{"' + bytes(first_key.group(1)) + b'":'
    while True:
        cut = body.buf.rfind(separator, body.pos)
        if cut >= 0:
            block = _decode_block(b"[" + body.buf[body.pos : cut + 1] + b"]", body, decoder)
            if block is None:
                return body.dropped + cut + 1
            body.pos = cut + 2
            body.drop()
            return block
        if len(body.buf) - body.pos > _MAX_BUFFER_BYTES:
            return body.offset
        # A big entry doubles the read, so it costs a few reads and copies.
        if not body.more(min(max(BLOCK_BYTES, len(body.buf)), _MAX_BUFFER_BYTES)):
            return body.offset


def _decode_block(
    block: bytes, body: ValueReader, decoder: BlockDecoder | None
) -> list[Any] | None:
    """The block's entries, or None if it must be read one value at a time."""
    if len(block) > body.max_bytes or nests_deeper_than(block, body.max_depth + 1):
        return None
    if decoder is not None and (entries := decoder(block)) is not None:
        return entries
    try:
        decoded: list[Any] = JSON_DECODER.decode(block)
        return decoded
    except Exception:  # a broken body, a number Python will not parse, deep recursion
        return None


def _is_json(document: bytes) -> bool:
    try:
        orjson.loads(document)
    except orjson.JSONDecodeError:
        return False
    return True
