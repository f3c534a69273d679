"""A Singer message writer that batches RECORD lines.

The SDK's MsgSpecWriter flushes stdout after every message: one write syscall per
record, which on a busy tailnet is hundreds of thousands a window. This writer encodes
RECORD lines into a buffer and hands them to stdout in blocks. Everything else (SCHEMA,
STATE, ACTIVATE_VERSION, BATCH) first pushes the pending records out, then goes out
flushed, exactly as before; so a STATE is never visible before the records it covers,
and a killed run loses only records that no STATE has claimed yet.

The bytes are those MsgSpecWriter writes: the same encoder, the same message dict.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import RecordMessage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.singerlib.encoding.simple import Message

# Large enough that the syscall cost vanishes, small enough to stay far below the
# memory goal and keep output flowing to the target.
FLUSH_BYTES = 256 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BufferedMsgSpecWriter(MsgSpecWriter):
    """MsgSpecWriter with RECORD lines batched until the next other message or flush()."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()

    def write_message(self, message: Message) -> None:
        """Buffer a RECORD; write anything else at once, after the buffered records."""
        if type(message) is not RecordMessage:
            self.flush()
            super().write_message(message)
            return
        self._buffer(message.to_dict())

    def write_record(
        self, stream: str, record: dict[str, Any], version: int | None, time_extracted: datetime
    ) -> None:
        """Buffer the line write_message(RecordMessage(...)) would, without the message object.

        `time_extracted` must be an aware UTC datetime, as RecordMessage makes it.
        """
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        self._buffer(message)

    def write_records(
        self,
        stream: str,
        version: int | None,
        records: Iterable[dict[str, Any]],
        *,
        every: int,
        clock: Callable[[], datetime] = _utc_now,
    ) -> Iterator[int]:
        """write_record for each record, in one loop; yields the count after each `every`
        records and at the end (callers count and mark state there, not per record)."""
        # One message dict, refilled: its keys keep write_record's order.
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": None}
        if version is not None:
            message["version"] = version
        buffer = self._buffer
        count = 0
        for record in records:
            message["record"] = record
            message["time_extracted"] = clock()
            buffer(message)
            count += 1
            if count == every:
                yield count
                count = 0
        if count:
            yield count

    def _buffer(self, message: dict[str, Any]) -> None:
        pending = self._pending
        size = len(pending)
        try:
            encoder.encode_into(message, pending, -1)
        except BaseException:
            del pending[size:]  # a failed encode must not leave half a line behind
            raise
        pending += b"\n"
        if len(pending) >= FLUSH_BYTES:
            self._drain()

    def flush(self) -> None:
        """Write buffered RECORD lines and flush stdout."""
        if self._pending:
            self._drain()
        sys.stdout.flush()

    def _drain(self) -> None:
        # stdout is looked up at each write, so redirect_stdout (tests, the SDK's
        # test runner) captures batched records like everything else.
        sys.stdout.buffer.write(self._pending)
        self._pending.clear()
