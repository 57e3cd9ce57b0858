"""Tests for scanctl.drivers.tcp against a real asyncio server on the loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from scanctl.core import BadRead
from scanctl.drivers import Backoff, ScannerDriver, SymbologyFilter, TcpScanner

from ._support import Collector, eventually, run


class ScannerServer:
    """Plays a fixed-mount scanner: accepts connections and sends what it is told."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)

    async def send(self, data: bytes) -> None:
        writer = self.connections[-1]
        writer.write(data)
        await writer.drain()

    async def hang_up(self) -> None:
        writer = self.connections[-1]
        writer.close()
        await writer.wait_closed()

    async def stop(self) -> None:
        for writer in self.connections:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _driver(port: int, **kwargs: object) -> TcpScanner:
    kwargs.setdefault("backoff", Backoff(0.005, 0.05))
    kwargs.setdefault("inter_byte_timeout", 0.05)
    return TcpScanner("127.0.0.1", port, name="lane-3", **kwargs)  # type: ignore[arg-type]


def test_lines_and_reconnect_after_the_scanner_hangs_up() -> None:
    async def scenario() -> None:
        server = ScannerServer()
        port = await server.start()
        driver = _driver(port, symbologies=SymbologyFilter(["qr"]))
        assert isinstance(driver, ScannerDriver)
        collector = Collector(driver)
        try:
            await eventually(lambda: len(server.connections) == 1)
            await server.send(b"]Q1one\r\n]C0refused\r\n\xff\xfe\r\n]Q1tw")
            await server.send(b"o\r\n")
            items = await collector.wait_for_count(4)
            assert [(s.payload, s.symbology, s.bad_read) for s in items] == [  # type: ignore[attr-defined]
                (b"one", "]Q1", None),
                (b"refused", "]C0", BadRead.SYMBOLOGY_NOT_ACCEPTED),
                (b"\xff\xfe", None, BadRead.UNREADABLE),
                (b"two", "]Q1", None),
            ]
            assert (driver.counters.refused_symbology, driver.counters.malformed) == (1, 1)
            await server.send(b"]Q1cut")
            await server.hang_up()
            # The server may accept the new connection before the driver has counted it.
            await eventually(
                lambda: len(server.connections) == 2 and driver.counters.reconnects == 1
            )
            assert driver.counters.partial_discarded == 1
            await server.send(b"]Q1three\r")
            items = await collector.wait_for_count(5)
            assert items[-1].payload == b"three"  # type: ignore[attr-defined]
            assert not await driver.feedback(True)
        finally:
            await collector.stop()
            await server.stop()

    run(scenario())


def test_partial_line_times_out() -> None:
    async def scenario() -> None:
        server = ScannerServer()
        port = await server.start()
        driver = _driver(port)
        collector = Collector(driver)
        await eventually(lambda: driver.connected and len(server.connections) == 1)
        await server.send(b"stalled")
        await eventually(lambda: driver.counters.partial_discarded == 1)
        await server.send(b"fresh\r")
        items = await collector.wait_for_count(2)
        assert [(s.payload, s.bad_read) for s in items] == [  # type: ignore[attr-defined]
            (b"stalled", BadRead.INCOMPLETE),
            (b"fresh", None),
        ]  # type: ignore[attr-defined]
        await collector.stop()
        await server.stop()

    run(scenario())


def test_waits_for_a_scanner_that_is_not_listening_yet(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        with socket.socket() as probe:  # find a free port, then leave it closed
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        driver = _driver(port)
        collector = Collector(driver)
        server = ScannerServer()
        await eventually(lambda: any("cannot connect" in r.getMessage() for r in caplog.records))
        assert not driver.connected
        await server.start(port)
        await eventually(lambda: len(server.connections) == 1)
        await server.send(b"late\r")
        items = await collector.wait_for_count(1)
        assert items[0].payload == b"late"  # type: ignore[attr-defined]
        assert driver.counters.reconnects == 0
        await collector.stop()
        await server.stop()

    run(scenario())
