"""The serial driver against scanner emulators on real ptys (see tests/emulators.py)."""

from __future__ import annotations

import asyncio
import os
import pty
import tty
from collections.abc import Iterator

import pytest

from scanctl.core import RawScan
from scanctl.drivers import Backoff, FeedbackEncoder, SerialScanner
from tests.emulators import ZebraSsi

from ._support import Collector, eventually, run


@pytest.fixture
def pair() -> Iterator[tuple[int, str]]:
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def _zebra_driver(path: str, **kwargs: object) -> SerialScanner:
    return SerialScanner(
        path,
        name="zebra-1",
        feedback=FeedbackEncoder("zebra-ssi"),
        backoff=Backoff(0.005, 0.05),
        **kwargs,  # type: ignore[arg-type]
    )


def test_ssi_reads_20_ms_after_the_decoders_ack_are_all_read(pair: tuple[int, str]) -> None:
    master, path = pair
    codes = [f"code-{n}".encode() for n in range(6)]

    async def scenario() -> list[RawScan]:
        driver = _zebra_driver(path)
        collector = Collector(driver)
        await eventually(lambda: driver.connected)
        with ZebraSsi(master) as scanner:
            for count, code in enumerate(codes, 1):
                scanner.scan(code)
                await collector.wait_for_count(count)
                assert await driver.feedback(True)  # the decoder ACKs this beep ...
                await asyncio.sleep(0.02)  # ... and the next code follows 20 ms later
            await eventually(lambda: len(scanner.beeps) == len(codes))
        await eventually(lambda: driver.counters.ssi_acks == len(codes))
        assert driver.counters.partial_discarded == 0
        assert driver.counters.malformed == 0
        await collector.stop()
        return collector.items  # type: ignore[return-value]

    scans = run(scenario())
    assert [(s.payload, s.bad_read) for s in scans] == [(code, None) for code in codes]


def test_packeted_ssi_codes_are_acked_and_a_naked_beep_resent(pair: tuple[int, str]) -> None:
    master, path = pair

    async def scenario() -> None:
        driver = _zebra_driver(path, ssi_packets=True)
        collector = Collector(driver)
        await eventually(lambda: driver.connected)
        with ZebraSsi(master, packeted=True, nak_beeps=2) as scanner:
            scanner.scan(b"printed-ticket-code", code_type=ZebraSsi.CODE128)
            (scan,) = await collector.wait_for_count(1)
            assert (scan.payload, scan.symbology) == (b"printed-ticket-code", "]C0")  # type: ignore[attr-defined]
            await eventually(lambda: scanner.decodes_acked == 1)
            assert await driver.feedback(False)
            await eventually(lambda: scanner.beeps == [0x16])  # after two NAKs, the third send
            assert scanner.naked == 2
        assert driver.counters.feedback_retried == 2
        await collector.stop()

    run(scenario())
