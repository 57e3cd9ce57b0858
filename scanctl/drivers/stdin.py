"""The stdin driver: scans typed into a terminal by a wedge, or piped in, one per line."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from scanctl.core import RawScan
from scanctl.drivers.aim import SymbologyFilter
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.framing import DEFAULT_MAX_LENGTH, Terminator
from scanctl.drivers.pipeline import ScanPipeline
from scanctl.drivers.streams import read_scans

__all__ = ["STDIN_INTER_BYTE_TIMEOUT", "StdinScanner"]

STDIN_INTER_BYTE_TIMEOUT = 5.0
"""Seconds. Codes on stdin may be typed or pasted by a person, who pauses."""


class StdinScanner:
    """Scans from a stream of lines; iteration ends at end of file.

    ``reader`` is any ``asyncio.StreamReader`` (a pipe in tests); without one, the
    process's standard input is connected on first use. A terminal in canonical mode
    turns the wedge's Enter into LF and hands over whole lines, so LF framing (which
    also takes CRLF) is the default; the partial-line timeout is generous because a
    person may be typing. There is no way back to the scanner: ``feedback()`` sends
    nothing.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader | None = None,
        *,
        name: str = "stdin",
        terminator: Terminator | str = Terminator.LF,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_byte_timeout: float = STDIN_INTER_BYTE_TIMEOUT,
        symbologies: SymbologyFilter | None = None,
        stream: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.counters = DriverCounters()
        self._reader = reader
        self._stream = stream
        self._pipeline = ScanPipeline(
            name,
            terminator=terminator,
            max_length=max_length,
            inter_byte_timeout=inter_byte_timeout,
            symbologies=symbologies,
            counters=self.counters,
        )
        self._clock = clock
        self._pending: deque[RawScan] = deque()
        self._transport: asyncio.ReadTransport | None = None
        self._closed = False
        self._closing = asyncio.Event()

    def __aiter__(self) -> StdinScanner:
        return self

    async def __anext__(self) -> RawScan:
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            reader = self._reader or await self._connect_stdin()
            read = asyncio.ensure_future(read_scans(reader, self._pipeline, self._clock))
            closing = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait((read, closing), return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            if not read.done():
                read.cancel()
                raise StopAsyncIteration
            scans = read.result()
            if scans is None:
                self._closed = True
                raise StopAsyncIteration
            self._pending.extend(scans)
        return self._pending.popleft()

    async def feedback(self, good: bool, *, warning: bool = False) -> bool:
        """A terminal has no way back to the scanner: nothing is sent."""
        return False

    async def aclose(self) -> None:
        """Stop reading; iteration ends. An injected reader is left to its owner."""
        self._closed = True
        self._closing.set()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def _connect_stdin(self) -> asyncio.StreamReader:
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._stream or sys.stdin
        )
        self._reader = reader
        return reader
