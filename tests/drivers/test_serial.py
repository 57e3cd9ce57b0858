"""Tests for scanctl.drivers.serial through real pseudo-terminals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.core import BadRead, RawScan
from scanctl.drivers import (
    Backoff,
    FeedbackEncoder,
    ScannerDriver,
    SerialScanner,
    SymbologyFilter,
    zebra_ssi_beep,
)

from ._support import Collector, eventually, run


class Pty:
    """A pseudo-terminal pair; the test plays the scanner on the master side."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.received = bytearray()
        self.fds: tuple[int, ...] = (self.master, self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_available(self) -> bytes:
        with contextlib.suppress(BlockingIOError):
            self.received += os.read(self.master, 4096)
        return bytes(self.received)

    def close(self) -> None:
        # Once only: a second close could hit a descriptor number reused since.
        fds, self.fds = self.fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def scanner_pty() -> Iterator[Pty]:
    pair = Pty()
    yield pair
    pair.close()


def _driver(path: str, **kwargs: object) -> SerialScanner:
    kwargs.setdefault("inter_byte_timeout", 0.05)
    kwargs.setdefault("backoff", Backoff(0.005, 0.05))
    return SerialScanner(path, name="door-1", **kwargs)  # type: ignore[arg-type]


async def _started(driver: SerialScanner) -> Collector:
    collector = Collector(driver)
    await eventually(lambda: driver.connected)
    return collector


def test_is_a_scanner_driver(scanner_pty: Pty) -> None:
    assert isinstance(_driver(scanner_pty.path), ScannerDriver)


def test_good_frames_with_and_without_aim_prefix(scanner_pty: Pty) -> None:
    async def scenario() -> list[RawScan]:
        driver = _driver(scanner_pty.path)
        collector = await _started(driver)
        scanner_pty.write(b"]Q1first\r")
        scanner_pty.write(b"second\r]C0third\r")
        items = await collector.wait_for_count(3)
        await collector.stop()
        assert driver.counters.frames_ok == 3
        return items  # type: ignore[return-value]

    scans = run(scenario())
    assert [(s.payload, s.symbology, s.source) for s in scans] == [
        (b"first", "]Q1", "door-1"),
        (b"second", None, "door-1"),
        (b"third", "]C0", "door-1"),
    ]
    assert scans[0].received_at_monotonic <= scans[2].received_at_monotonic


def test_noise_over_long_and_refused_symbologies_are_counted_and_handed_on_as_bad_reads(
    scanner_pty: Pty,
) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path, max_length=16, symbologies=SymbologyFilter(["qr"]))
        collector = await _started(driver)
        scanner_pty.write(b"\x00\xff\xfe\x81\r")  # noise
        scanner_pty.write(b"x" * 40 + b"\r")  # over-long
        scanner_pty.write(b"]E04006381333931\r")  # EAN-13: not accepted at this gate
        scanner_pty.write(b"]Q1ok\r")
        items = await collector.wait_for_count(4)
        # Each read is handed on, in order: the lane answers the bad ones at once.
        assert [(s.bad_read, s.payload) for s in items] == [  # type: ignore[attr-defined]
            (BadRead.UNREADABLE, b"\x00\xff\xfe\x81"),
            (BadRead.TOO_LONG, b""),
            (BadRead.SYMBOLOGY_NOT_ACCEPTED, b"4006381333931"),
            (None, b"ok"),
        ]
        counters = driver.counters
        assert (counters.malformed, counters.over_long, counters.refused_symbology) == (1, 1, 1)
        await collector.stop()

    run(scenario())


def test_partial_frame_dropped_after_inter_byte_timeout(scanner_pty: Pty) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path)
        collector = await _started(driver)
        scanner_pty.write(b"]Q1cut-sh")
        # No more bytes come: the driver expires the frame on its own, and says so.
        await eventually(lambda: driver.counters.partial_discarded == 1)
        items = await collector.wait_for_count(1)
        assert items[0].bad_read is BadRead.INCOMPLETE  # type: ignore[attr-defined]
        scanner_pty.write(b"ort\r]Q1whole\r")
        items = await collector.wait_for_count(3)
        assert [s.payload for s in items[1:]] == [b"ort", b"whole"]  # type: ignore[attr-defined]
        await collector.stop()

    run(scenario())


def test_slow_bytes_one_at_a_time(scanner_pty: Pty) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path, inter_byte_timeout=0.5)
        collector = await _started(driver)
        for byte in b"]Q1slow\r":
            scanner_pty.write(bytes([byte]))
            await asyncio.sleep(0.005)  # pacing the sender, not waiting for a result
        items = await collector.wait_for_count(1)
        assert [s.payload for s in items] == [b"slow"]  # type: ignore[attr-defined]
        assert driver.counters.partial_discarded == 0
        await collector.stop()

    run(scenario())


def test_feedback_bytes_reach_the_scanner(scanner_pty: Pty) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path, feedback=FeedbackEncoder("honeywell-ack"))
        collector = await _started(driver)
        scanner_pty.write(b"code\r")
        await collector.wait_for_count(1)
        assert await driver.feedback(True)
        assert await driver.feedback(False)
        await eventually(lambda: len(scanner_pty.read_available()) >= 6)
        assert scanner_pty.read_available() == b"\x1b7,\x1b8,"
        assert driver.counters.feedback_sent == 2
        await collector.stop()

    run(scenario())


def test_a_full_output_buffer_delays_feedback_but_keeps_the_port(scanner_pty: Pty) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path, feedback=FeedbackEncoder("honeywell-ack"))
        collector = await _started(driver)
        # Nobody reads the scanner side: the tty's buffer fills up within a few
        # thousand acknowledgements, then feedback waits (and finally gives up) ...
        sent = 0
        while await driver.feedback(True):
            sent += 1
            assert sent < 1_000_000
        assert driver.counters.feedback_failed == 1
        # ... but the port is not taken for lost: once the scanner reads, feedback flows.
        assert driver.connected
        while scanner_pty.read_available():
            scanner_pty.received.clear()
            await asyncio.sleep(0.01)
        writer = asyncio.create_task(driver.feedback(False))
        await eventually(lambda: scanner_pty.read_available().endswith(b"\x1b8,"))
        assert await writer
        assert driver.counters.reconnects == 0
        await collector.stop()

    run(scenario())


def test_zebra_feedback_and_none(scanner_pty: Pty) -> None:
    async def scenario() -> None:
        driver = _driver(scanner_pty.path, feedback=FeedbackEncoder("zebra-ssi"))
        collector = await _started(driver)
        assert await driver.feedback(True)
        await eventually(lambda: len(scanner_pty.read_available()) >= 7)
        assert scanner_pty.read_available() == zebra_ssi_beep(0)
        await collector.stop()
        silent = _driver(scanner_pty.path)
        assert not await silent.feedback(True)
        # Closed: nothing to write to.
        assert not await driver.feedback(True)
        assert driver.counters.feedback_failed == 1

    run(scenario())


def test_replug_a_new_pty_behind_the_same_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "ttyScanner"
    first = Pty()
    link.symlink_to(first.path)
    second: Pty | None = None

    async def scenario() -> None:
        nonlocal second
        driver = _driver(str(link))
        collector = await _started(driver)
        first.write(b"]Q1before\r")
        await collector.wait_for_count(1)
        first.close()  # unplugged
        await eventually(lambda: not driver.connected)
        second = Pty()
        replacement = tmp_path / "next"
        replacement.symlink_to(second.path)
        replacement.replace(link)  # udev points the stable name at the new device
        await eventually(lambda: driver.connected and driver.counters.reconnects == 1)
        second.write(b"]Q1after\r")
        items = await collector.wait_for_count(2)
        assert [s.payload for s in items] == [b"before", b"after"]  # type: ignore[attr-defined]
        await collector.stop()

    with caplog.at_level(logging.WARNING, logger="scanctl.drivers.serial"):
        try:
            run(scenario())
        finally:
            first.close()
            if second is not None:
                second.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # One line when it went away, one when it came back; the retries stay quiet.
    assert len(warnings) == 2, [r.getMessage() for r in warnings]


def test_waits_for_a_port_that_is_not_there_yet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "ttyLater"
    later = Pty()

    async def scenario() -> None:
        driver = _driver(str(link))
        collector = Collector(driver)
        await eventually(lambda: any("cannot open" in r.getMessage() for r in caplog.records))
        assert not driver.connected
        link.symlink_to(later.path)
        await eventually(lambda: driver.connected)
        later.write(b"hello\r")
        await collector.wait_for_count(1)
        assert driver.counters.reconnects == 0
        await collector.stop()

    try:
        run(scenario())
    finally:
        later.close()


def test_close_while_waiting_for_a_port(tmp_path: Path) -> None:
    async def scenario() -> None:
        driver = _driver(str(tmp_path / "never"), backoff=Backoff(10, 10))
        collector = Collector(driver)
        await asyncio.sleep(0)
        await collector.stop()  # must not wait out the 10 s back-off
        assert collector.items == []

    run(scenario(), timeout=5)
