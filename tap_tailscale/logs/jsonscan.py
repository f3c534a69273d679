"""Find where one JSON value ends in a byte stream, without building it.

The body parser reads most entries in whole blocks, but an entry it cannot trust (too
large, too deep, a number Python will not parse, a broken body) is delimited here first:
a resumable scan over the raw bytes that keeps only a few counters, so a 100 MB entry or
one nested 100,000 deep is measured and skipped in flat memory and linear time.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from tap_tailscale.errors import MalformedJSONError
from tap_tailscale.logs.nesting import BRACKETS, NOT_BRACKETS

if TYPE_CHECKING:
    from collections.abc import Callable

# Structural bytes outside strings; everything else between them is skipped in C.
_STRUCTURE = re.compile(rb'["{}\[\]]')
# The rest of a string's contents up to its closing quote or a final lone backslash.
_STRING_BODY = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
# A bare number or literal runs to the next delimiter.
_SCALAR_BODY = re.compile(rb"[^\s,\]}]*")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS = frozenset(b"{[")
_CONTAINER_OR_STRING = frozenset(b'{["')

_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_STRING_OR_NUMBER = re.compile(_STRING.pattern + rb"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.DOTALL)
READ_BYTES = 64 * 1024
# Tokens read one by one before a read is measured whole; real entries have fewer.
_TOKEN_BUDGET = 4096
# Where a value may end, it is read token by token over at most this many bytes.
_EXACT_BYTES = 4096
_FEW_ESCAPES = 16
# Passes of `{}` removal before a read is counted token by token instead.
_REDUCTIONS = 8
# A value being skipped is read in larger pieces: nothing of it is kept.
_SKIP_READ_BYTES = 1024 * 1024
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_COMMA = ord(",")
# Decimal keeps numbers with a fraction or exponent exactly as written.
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class ValueScan:
    """The state of a scan through one JSON value, carried from one read to the next.

    Bytes are read token by token at first; past `budget` tokens, a whole read is
    measured at once in C (`_fast_forward`) whenever the value cannot end within it,
    so a huge value costs a few C passes per read rather than a Python step per token.
    """

    __slots__ = ("deepest", "depth", "escaped", "in_string", "limit", "scalar")

    def __init__(self, first: int, limit: int) -> None:
        self.depth = 0
        self.deepest = 0
        self.limit = limit  # the depth that must be seen exactly; deeper is only "too deep"
        self.in_string = False
        self.escaped = False
        self.scalar = first not in _CONTAINER_OR_STRING

    def advance(self, data: bytes | bytearray, i: int, budget: int = _TOKEN_BUDGET) -> int | None:
        """Scan `data` from `i`: the index just past the value, or None if it goes on."""
        if self.scalar:
            end = _SCALAR_BODY.match(data, i).end()  # type: ignore[union-attr]
            return None if end == len(data) else end
        while True:
            if self.in_string:
                end = self._string_end(data, i)
                if end is None:
                    return None
                i = end
                if self.depth == 0:
                    return i
            if budget <= 0:
                i = self._skim(data, i)
                budget = _TOKEN_BUDGET
                if self.in_string:
                    continue
            found = _STRUCTURE.search(data, i)
            if found is None:
                return None
            budget -= 1
            i = found.end()
            if self._token(data[i - 1]):
                return i

    def _token(self, byte: int) -> bool:
        """Take in one quote or bracket; True if it closes the value."""
        if byte == _QUOTE:
            self.in_string = True
        elif byte in _OPENERS:
            self.depth += 1
            if self.depth > self.deepest:
                self.deepest = self.depth
                if self.depth > self.limit:  # too deep: from now on only its end matters
                    self.limit = sys.maxsize
        else:
            self.depth -= 1
            return self.depth <= 0
        return False

    def _string_end(self, data: bytes | bytearray, i: int) -> int | None:
        """Past the closing quote of the string being scanned, or None if it goes on."""
        size = len(data)
        if self.escaped:
            if i >= size:
                return None
            i += 1
            self.escaped = False
        # memchr-speed finds while escapes are few; the regex for a string full of them.
        for _ in range(_FEW_ESCAPES):
            quote = data.find(b'"', i)
            slash = data.find(b"\\", i, size if quote < 0 else quote)
            if slash < 0:
                if quote < 0:
                    return None
                self.in_string = False
                return quote + 1
            i = slash + 2
            if i > size:  # the data ends inside an escape
                self.escaped = True
                return None
        i = _STRING_BODY.match(data, i).end()  # type: ignore[union-attr]
        if i < size and data[i] == _QUOTE:
            self.in_string = False
            return i + 1
        self.escaped = i < size  # stopped at a final lone backslash
        return None

    def _skim(self, data: bytes | bytearray, i: int) -> int:
        """Take in the longest stretch from `i` (outside a string) that cannot end the value.

        Returns where token-by-token reading must go on: the end of `data`, or within
        `_EXACT_BYTES` of where the value may end.
        """
        size = len(data) - i
        while size > _EXACT_BYTES:
            if self._fast_forward(data, i, i + size):
                i += size
                size = min(size, len(data) - i)
                if self.in_string:
                    return i
            else:
                size //= 2
        return i

    def _fast_forward(self, data: bytes | bytearray, i: int, stop: int) -> bool:
        """Take in all of `data[i:stop]` (from outside a string) if the value cannot end there.

        Escapes are removed first, so every quote left is a string's edge; splitting at
        quotes would leave the brackets outside strings at the even places.
        """
        rest = data[i:stop]
        if b"\\" in rest:
            rest = rest.replace(b"\\\\", b"").replace(b'\\"', b"")
        kept = bytes(rest.translate(BRACKETS, NOT_BRACKETS))
        ends_in_string = kept.count(b'"') % 2 == 1
        if ends_in_string:
            kept = kept[: kept.rfind(b'"')]
        # Strings without brackets leave `""`; one holding a bracket leaves a lone quote.
        outside = kept.replace(b'""', b"")
        if b'"' in outside:
            outside = b"".join(kept.split(b'"')[::2])
        openers = outside.count(b"{")
        closers = len(outside) - openers
        if self.depth + openers > self.limit:
            return False  # the deepest level must be counted exactly
        if closers >= self.depth and not _stays_open(outside, self.depth):
            return False
        self.depth += openers - closers
        if ends_in_string:
            self.in_string = True
            tail = data[i:stop]
            self.escaped = (len(tail) - len(tail.rstrip(b"\\"))) % 2 == 1
        return True


def _stays_open(brackets: bytes, depth: int) -> bool:
    """Whether `brackets` never closes more than `depth` levels, at any point."""
    for _ in range(_REDUCTIONS):
        shorter = brackets.replace(b"{}", b"")
        if len(shorter) == len(brackets):
            # Matched pairs are gone: what is left is closers, then openers.
            return len(brackets) - len(brackets.lstrip(b"}")) < depth
        brackets = shorter
    return False


def quote_long_integers(document: bytes | bytearray) -> bytes:
    """`document` with each integer longer than Python parses turned into a JSON string.

    The digits are kept exactly, as the records keep every integer beyond 64 bits.
    """
    limit = sys.get_int_max_str_digits() or sys.maxsize

    def quote(match: re.Match[bytes]) -> bytes:
        token = match.group()
        digits = token.lstrip(b"-")
        if token[0] != _QUOTE and digits.isdigit() and len(digits) > limit:
            return b'"' + token + b'"'
        return token

    return _STRING_OR_NUMBER.sub(quote, document)


class SkippedValue:
    """A value read past unparsed, and why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class ValueReader:
    """A byte stream's unread bytes, a cursor into them, and reading one value at a time.

    A value over `max_bytes`, or nested more than `max_depth` levels, is read past in
    flat memory and comes back as a SkippedValue.
    """

    def __init__(self, read: Callable[[int], bytes], max_bytes: int, max_depth: int) -> None:
        self._read = read
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.buf = bytearray()
        self.pos = 0
        self.dropped = 0  # bytes of the body before buf[0]
        self._ended = False
        self._error: Exception | None = None

    @property
    def offset(self) -> int:
        """The cursor's position in the whole body."""
        return self.dropped + self.pos

    def more(self, size: int = READ_BYTES) -> bool:
        """Append up to `size` bytes; False at the end (or once a read has failed)."""
        if self._ended:
            return False
        try:
            chunk = self._read(size)
        except Exception as exc:  # raised again once the bytes before it are parsed
            self._error = exc
            chunk = b""
        if not chunk:
            self._ended = True
            return False
        self.buf += chunk
        return True

    def drop(self) -> None:
        """Forget the bytes before the cursor (cheap: bytearray moves its start)."""
        del self.buf[: self.pos]
        self.dropped += self.pos
        self.pos = 0

    def fail(self, what: str) -> NoReturn:
        """Stop at a break: the failed read if there was one, else malformed JSON."""
        if self._error is not None:
            raise self._error
        raise MalformedJSONError(what)

    def peek(self) -> int:
        """The next byte after whitespace (the cursor moves to it), or -1 at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return -1

    def take(self, byte: int) -> None:
        """Step over `byte`, which must come next."""
        if self.peek() != byte:
            self.fail(f"expected {chr(byte)!r}")
        self.pos += 1

    def close_or_comma(self, close: int) -> bool:
        """Step over a `,` (False) or the container's `close` (True)."""
        byte = self.peek()
        if byte not in (close, _COMMA):
            self.fail("expected ',' or the end of a container")
        self.pos += 1
        return byte == close

    def end(self) -> None:
        """The document must end here."""
        if self.peek() != -1:
            self.fail("data after the document")
        if self._error is not None:
            raise self._error

    def value(self) -> Any:
        """The next JSON value, decoded; or a SkippedValue if it is over a limit."""
        first = self.peek()
        if first < 0:
            self.fail("the body broke off")
        start = self.pos
        scan = ValueScan(first, self.max_depth)
        end = scan.advance(self.buf, start)
        while end is None:
            scanned = len(self.buf)
            if scan.deepest > self.max_depth or scanned - start > self.max_bytes:
                self.pos = scanned
                self.drop()
                return self._skip(scan, scanned - start)
            if not self.more():
                self.fail("the body broke off")
            end = scan.advance(self.buf, scanned, budget=0)
        if end == start:
            self.fail("expected a value")
        self.pos = end
        if scan.deepest > self.max_depth or end - start > self.max_bytes:
            self.drop()
            return self._unreadable(scan, end - start)
        raw = self.buf[start:end]
        self.drop()
        return self._decode(raw)

    def _skip(self, scan: ValueScan, skipped: int) -> SkippedValue:
        """Read past the rest of a value over a limit, keeping none of it."""
        scan.limit = sys.maxsize
        while True:
            if not self.more(_SKIP_READ_BYTES):
                self.fail("the body broke off")
            end = scan.advance(self.buf, 0, budget=0)
            self.pos = len(self.buf) if end is None else end
            skipped += self.pos
            self.drop()
            if end is not None:
                return self._unreadable(scan, skipped)

    def _unreadable(self, scan: ValueScan, size: int) -> SkippedValue:
        if scan.deepest > self.max_depth:
            return SkippedValue(f"the entry is nested more than {self.max_depth} levels deep")
        return SkippedValue(
            f"the entry is {size:,} bytes, over max_entry_bytes ({self.max_bytes:,})"
        )

    def _decode(self, raw: bytearray) -> Any:
        try:
            return _decoder.decode(raw)
        except msgspec.ValidationError:  # an integer longer than Python parses
            pass
        except msgspec.DecodeError:
            self.fail("not valid JSON")
        except RecursionError:  # only with a max_depth near Python's recursion limit
            return SkippedValue("the entry is nested too deep to decode")
        try:
            return _decoder.decode(quote_long_integers(raw))
        except msgspec.DecodeError:
            return SkippedValue("the entry holds a number that cannot be read")
