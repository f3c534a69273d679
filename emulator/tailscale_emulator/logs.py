"""The two logging endpoints: windows of audit events or flow logs, streamed as chunked JSON."""

from __future__ import annotations

import itertools
import math
import random
import socket
import struct
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import orjson

from tailscale_emulator.access import CONFIG_SCOPE, NETWORK_SCOPE, Reject, window_ns
from tailscale_emulator.base import HandlerBase
from tailscale_emulator.config import Fault
from tailscale_emulator.dataset import CONFIG_VERSION
from tailscale_emulator.event_types import EVENT_TYPE_SET, ConfigFilter
from tailscale_emulator.hashing import hash_of
from tailscale_emulator.timefmt import NS_PER_SECOND

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tailscale_emulator.access import RequestLogEntry

FAULT_STATUS = {
    Fault.HTTP_429: (429, "too many requests"),
    Fault.HTTP_429_RETRY_AFTER: (429, "too many requests"),
    Fault.HTTP_429_RETRY_AFTER_DATE: (429, "too many requests"),
    Fault.HTTP_500: (500, "internal server error"),
    Fault.HTTP_502: (502, "unable to communicate with logging server"),
    Fault.HTTP_503: (503, "service unavailable"),
    Fault.HTTP_504: (504, "request took too long to process, please try again later"),
}
TIMEOUT_MESSAGE = "request took too long to process, please try again later"
_CHUNK_BYTES = 256 * 1024
_BATCH_ENTRIES = 512
# What an answer may prepare while its latency runs; the rest is produced as it streams.
_PREPARED_BYTES = 32 * 1024 * 1024


class Latency:
    """The configured delay before a log answer's first byte, counted from its arrival.

    A real API's latency is the time it spends finding the answer, so the emulator builds
    the body (up to _PREPARED_BYTES) during the delay instead of after it: a request then
    takes the configured latency, not the latency plus the emulator's own serialising,
    which no real API would add and the benchmark's ideal bound does not count.
    """

    def __init__(
        self, sleep: Callable[[float], object], clock: Callable[[], float], seconds: float
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._seconds = seconds
        self._ready_at = clock() + seconds
        self._waited = seconds <= 0

    def running(self) -> bool:
        """True while the delay has time left (answers may prepare meanwhile)."""
        return not self._waited and self._clock() < self._ready_at

    def wait(self) -> None:
        """Wait out what is left of the delay; only the first call waits."""
        if self._waited:
            return
        self._waited = True
        self._sleep(min(self._seconds, max(0.0, self._ready_at - self._clock())))


class LogsMixin(HandlerBase):
    """`GET /api/v2/tailnet/{tailnet}/logging/{configuration|network}`."""

    def _serve_logs(
        self, entry: RequestLogEntry, tailnet_segment: str, kind: str, query: dict[str, list[str]]
    ) -> None:
        emu = self.emulator
        latency = Latency(emu.sleep, emu.clock, emu.config.latency_seconds)
        try:
            self._answer_logs(entry, tailnet_segment, kind, query, latency)
        except Reject:
            latency.wait()
            raise

    def _answer_logs(
        self,
        entry: RequestLogEntry,
        tailnet_segment: str,
        kind: str,
        query: dict[str, list[str]],
        latency: Latency,
    ) -> None:
        emu = self.emulator
        config = emu.config
        tailnet = self._authorize_logs(entry, tailnet_segment, kind)
        start_ns, end_ns = window_ns(query)
        flt = _config_filter(query) if kind == "configuration" else ConfigFilter()
        fault = emu._pick_fault(entry.path, start_ns, end_ns)
        entry.fault = fault
        if fault == Fault.SLOW:
            latency.wait()
            emu.sleep(config.faults.slow_seconds if config.faults else 3.0)
        elif fault is not None:
            latency.wait()
            if self._answer_fault(entry, fault, kind, tailnet):
                return
        dataset = emu.dataset
        suffix = b"}"
        if kind == "configuration":

            def generate() -> Iterator[dict[str, Any]]:
                return dataset.configuration_events_ns(tailnet, start_ns, end_ns, flt)

            prefix, suffix = envelope(tailnet, start_ns, config.name_after_logs_every)
        else:

            def generate() -> Iterator[dict[str, Any]]:
                return dataset.network_logs_ns(tailnet, start_ns, end_ns)

            prefix = b'{"logs":'

        def produce() -> Iterator[dict[str, Any]]:
            if config.shuffle_logs:
                return iter(shuffled(list(generate()), start_ns ^ end_ns))
            return generate()

        self._check_capacity(entry, start_ns, end_ns, produce)
        null_when_empty = config.null_logs_for_empty or (start_ns // NS_PER_SECOND) % 2 == 1
        self._stream(
            entry,
            (prefix, suffix),
            produce(),
            latency,
            null_when_empty=null_when_empty,
            truncate=fault == Fault.TRUNCATED,
        )

    def _authorize_logs(self, entry: RequestLogEntry, tailnet_segment: str, kind: str) -> str:
        """Check credential, tailnet, scope and plan (in that order); return the tailnet."""
        scope = CONFIG_SCOPE if kind == "configuration" else NETWORK_SCOPE
        tailnet = self._authorize(entry, tailnet_segment, scope)
        tailnet_config = self.emulator.config.tailnets[tailnet]
        if kind == "network" and not tailnet_config.plan_has_flow_logs:
            raise Reject(403, "network flow logs are not available on this tailnet's plan")
        if kind == "network" and not tailnet_config.flow_logs_enabled:
            raise Reject(403, "network flow logging is disabled for this tailnet")
        return tailnet

    def _check_capacity(
        self,
        entry: RequestLogEntry,
        start_ns: int,
        end_ns: int,
        produce: Callable[[], Iterator[dict[str, Any]]],
    ) -> None:
        """504 for windows or answers over the configured limits."""
        config = self.emulator.config
        limit_window = config.max_window_seconds
        if limit_window is not None and end_ns - start_ns > limit_window * NS_PER_SECOND:
            raise Reject(504, TIMEOUT_MESSAGE, fault=entry.fault or "max-window")
        limit_entries = config.max_entries_per_response
        if limit_entries is not None:
            found = sum(1 for _ in itertools.islice(produce(), limit_entries + 1))
            if found > limit_entries:
                raise Reject(504, TIMEOUT_MESSAGE, fault=entry.fault or "max-entries")

    def _answer_fault(self, entry: RequestLogEntry, fault: str, kind: str, tailnet: str) -> bool:
        """Send the fault's response; False when the fault only alters a normal answer."""
        if fault == Fault.RESET:
            entry.status = None
            entry.duration_seconds = time.time() - entry.started_at
            # SO_LINGER 0 turns close() into a TCP RST instead of an orderly FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.connection.close()
            return True
        if fault in FAULT_STATUS:
            status, message = FAULT_STATUS[Fault(fault)]
            headers: list[tuple[str, str]] = []
            if fault == Fault.HTTP_429_RETRY_AFTER:
                headers.append(("Retry-After", "1"))
            elif fault == Fault.HTTP_429_RETRY_AFTER_DATE:
                # HTTP-dates have whole seconds; rounding up keeps the wait at >= 1 s.
                headers.append(("Retry-After", formatdate(math.ceil(time.time()) + 1, usegmt=True)))
            self._send_json(entry, status, {"message": message}, headers)
            return True
        if fault == Fault.BAD_JSON:
            body = (
                b'{"version":"1.1","tailnetId":"%s","logs":[{"eventTime":"2025-03-04T09:12:44Z",'
                % tailnet.encode()
                if kind == "configuration"
                else b'{"logs":[{"logged":"2025-03-04T09:30:06.412985Z","nodeId":}'
            )
            self._send_raw(entry, 200, body)
            return True
        if fault == Fault.LOGS_NOT_ARRAY:
            self._send_raw(entry, 200, b'{"logs": 5}')
            return True
        return False

    def _stream(
        self,
        entry: RequestLogEntry,
        around: tuple[bytes, bytes],
        items: Iterator[dict[str, Any]],
        latency: Latency,
        *,
        null_when_empty: bool,
        truncate: bool,
    ) -> None:
        """Write `prefix + [items...] + suffix` as chunked JSON, serialising in large batches."""
        head_item = next(items, None)
        prefix, suffix = around
        produced = body_chunks(
            prefix, head_item, items, null_when_empty=null_when_empty, suffix=suffix
        )
        prepared: list[bytes] = []
        prepared_bytes = 0
        while latency.running() and prepared_bytes < _PREPARED_BYTES:
            chunk = next(produced, None)
            if chunk is None:
                break
            prepared.append(chunk)
            prepared_bytes += len(chunk)
        latency.wait()
        entry.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        chunks = itertools.chain(prepared, produced)
        write = self.wfile.write
        sent = 0
        if truncate:
            head = next(chunks)
            part = head[: max(1, len(head) // 2)]
            entry.bytes_sent = len(part)
            entry.duration_seconds = time.time() - entry.started_at
            # Announce the full chunk, deliver half, hang up: a body cut off in flight.
            write(b"%X\r\n" % len(head) + part)
            self.close_connection = True
            return
        pending = next(chunks)
        for chunk in chunks:
            write(b"%X\r\n%s\r\n" % (len(pending), pending))
            sent += len(pending)
            pending = chunk
        self._finish_entry(entry, 200, sent + len(pending))
        write(b"%X\r\n%s\r\n0\r\n\r\n" % (len(pending), pending))


def _config_filter(query: dict[str, list[str]]) -> ConfigFilter:
    flt = ConfigFilter(
        tuple(query.get("actor", ())),
        tuple(query.get("target", ())),
        tuple(query.get("event", ())),
    )
    bad = [e for e in flt.event if e not in EVENT_TYPE_SET]
    if bad:
        raise Reject(400, f"missing or invalid parameter(s): event ({', '.join(bad)})")
    return flt


def envelope(tailnet: str, start_ns: int, name_after_every: int) -> tuple[bytes, bytes]:
    """The configuration body around its `logs`: the live `tailnetId`, before or after."""
    version = b'"version":"%s"' % CONFIG_VERSION.encode()
    name = b'"tailnetId":%s' % orjson.dumps(tailnet)
    # Decided by a hash of the window's start: whole-minute starts still vary.
    if name_after_every > 0 and hash_of(start_ns, 0xE4E) % name_after_every == 0:
        return b'{"logs":', b",%s,%s}" % (name, version)
    return b'{%s,%s,"logs":' % (version, name), b"}"


def shuffled(items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """`items` in an order of their own, the same for the same seed."""
    random.Random(seed).shuffle(items)  # noqa: S311 - test data, not a secret
    return items


def body_chunks(
    prefix: bytes,
    first: dict[str, Any] | None,
    items: Iterator[dict[str, Any]],
    *,
    null_when_empty: bool,
    suffix: bytes = b"}",
) -> Iterator[bytes]:
    if first is None:
        yield prefix + (b"null" if null_when_empty else b"[]") + suffix
        return
    buf = bytearray(prefix)
    buf += b"["
    batch = [first]
    comma = False
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH_ENTRIES:
            if comma:
                buf += b","
            # One orjson call per batch; the list brackets are sliced off.
            buf += orjson.dumps(batch)[1:-1]
            comma = True
            batch.clear()
            if len(buf) >= _CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
    if batch:
        if comma:
            buf += b","
        buf += orjson.dumps(batch)[1:-1]
    buf += b"]" + suffix
    yield bytes(buf)
