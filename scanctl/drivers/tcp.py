"""The TCP driver: a fixed-mount network scanner that sends one code per line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from scanctl.core import RawScan
from scanctl.drivers.aim import SymbologyFilter
from scanctl.drivers.backoff import Backoff, Reconnector
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.framing import DEFAULT_INTER_BYTE_TIMEOUT, DEFAULT_MAX_LENGTH, Terminator
from scanctl.drivers.pipeline import ScanPipeline
from scanctl.drivers.streams import read_scans

__all__ = ["TcpScanner"]

_log = logging.getLogger(__name__)


class TcpScanner:
    """Scans from a network scanner acting as a TCP server (the usual fixed-mount setup).

    Connects to ``host:port`` and frames what arrives like a serial line (CR by
    default, which also takes CRLF). A refused, failed or closed connection is logged
    once and retried with bounded exponential back-off until ``aclose()``. The line
    protocol has no documented feedback: ``feedback()`` sends nothing.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str | None = None,
        terminator: Terminator | str = Terminator.CR,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_byte_timeout: float = DEFAULT_INTER_BYTE_TIMEOUT,
        symbologies: SymbologyFilter | None = None,
        connect_timeout: float = 5.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.name = name or f"{host}:{port}"
        self.connect_timeout = connect_timeout
        self.counters = DriverCounters()
        self._pipeline = ScanPipeline(
            self.name,
            terminator=terminator,
            max_length=max_length,
            inter_byte_timeout=inter_byte_timeout,
            symbologies=symbologies,
            counters=self.counters,
        )
        self._reconnector = Reconnector(_log, self.name, self.counters, backoff)
        self._clock = clock
        self._pending: deque[RawScan] = deque()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return self._reader is not None

    def __aiter__(self) -> TcpScanner:
        return self

    async def __anext__(self) -> RawScan:
        while not self._pending:
            if self._reconnector.closed:
                raise StopAsyncIteration
            if self._reader is None:
                await self._connect()
                continue
            read = asyncio.ensure_future(read_scans(self._reader, self._pipeline, self._clock))
            closing = asyncio.ensure_future(self._reconnector.wait_closed())
            await asyncio.wait((read, closing), return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            if not read.done():
                read.cancel()
                raise StopAsyncIteration
            try:
                scans = read.result()
            except OSError as error:
                self._lost(error)
                continue
            if scans is None:
                self._lost("connection closed by the scanner")
                continue
            self._reconnector.proven()
            self._pending.extend(scans)
        return self._pending.popleft()

    async def feedback(self, good: bool, *, warning: bool = False) -> bool:
        """No documented feedback over a plain line connection: nothing is sent."""
        return False

    async def aclose(self) -> None:
        """Close the connection; iteration ends."""
        self._reconnector.close()
        await self._drop_connection()

    async def _connect(self) -> None:
        connection = await self._reconnector.open(
            self._open_connection,
            f"cannot connect to {self.host}:{self.port}",
            (OSError, TimeoutError),
        )
        if connection is not None:
            self._reader, self._writer = connection
            _log.info("%s: connected to %s:%d", self.name, self.host, self.port)

    async def _open_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.connect_timeout
        )

    def _lost(self, error: BaseException | str) -> None:
        self._reconnector.lost("connection lost", error)
        self._pipeline.assembler.reset()
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()

    async def _drop_connection(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
