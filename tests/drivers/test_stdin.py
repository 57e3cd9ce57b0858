"""Tests for scanctl.drivers.stdin through a real pipe."""

from __future__ import annotations

import asyncio
import os

from scanctl.core import BadRead
from scanctl.drivers import ScannerDriver, StdinScanner

from ._support import Collector, run


async def _pipe_reader() -> tuple[asyncio.StreamReader, int, asyncio.ReadTransport]:
    read_fd, write_fd = os.pipe()
    reader = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    return reader, write_fd, transport


def test_lines_from_a_pipe_until_end_of_file() -> None:
    async def scenario() -> None:
        reader, write_fd, transport = await _pipe_reader()
        driver = StdinScanner(reader, name="desk")
        assert isinstance(driver, ScannerDriver)
        collector = Collector(driver)
        os.write(write_fd, b"]Q1abc\nplain\r\n\x00\x01\n")
        os.write(write_fd, b"last-without-newline")
        os.close(write_fd)  # end of file: the unterminated line is a partial frame
        await asyncio.wait_for(collector.task, 5)
        scans = collector.items
        assert [(s.payload, s.source, s.bad_read) for s in scans] == [  # type: ignore[attr-defined]
            (b"abc", "desk", None),
            (b"plain", "desk", None),
            (b"\x00\x01", "desk", BadRead.UNREADABLE),
        ]
        assert driver.counters.malformed == 1
        assert driver.counters.partial_discarded == 1
        assert not await driver.feedback(False)
        transport.close()

    run(scenario())


def test_close_while_reading() -> None:
    async def scenario() -> None:
        reader, write_fd, transport = await _pipe_reader()
        driver = StdinScanner(reader)
        collector = Collector(driver)
        os.write(write_fd, b"one\n")
        await collector.wait_for_count(1)
        await collector.stop()  # nothing more was written: close must not hang
        os.close(write_fd)
        transport.close()

    run(scenario())


def test_connects_a_stream_of_its_own() -> None:
    async def scenario() -> None:
        read_fd, write_fd = os.pipe()
        driver = StdinScanner(stream=os.fdopen(read_fd, "rb", buffering=0))
        collector = Collector(driver)
        os.write(write_fd, b"typed\n")
        items = await collector.wait_for_count(1)
        assert items[0].payload == b"typed"  # type: ignore[attr-defined]
        await collector.stop()
        os.close(write_fd)

    run(scenario())
