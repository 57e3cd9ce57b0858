"""Tests for scanctl.drivers.hid_reader: device selection, and real devices via /dev/uinput."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from evdev import ecodes

from scanctl.drivers import (
    Backoff,
    DeviceNotFoundError,
    DeviceUnavailableError,
    HidScanner,
    ScannerDriver,
    open_input_device,
)

from ._support import Collector, eventually, run

needs_uinput = pytest.mark.skipif(
    not Path("/dev/uinput").exists(), reason="needs /dev/uinput to create input devices"
)

E = ecodes


def test_missing_path_and_usb_id_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFoundError):
        open_input_device(str(tmp_path / "usb-Honeywell-event-kbd"))
    with pytest.raises(DeviceNotFoundError):
        open_input_device("ffff:fffe")


def test_a_file_that_is_not_an_input_device_is_unavailable(tmp_path: Path) -> None:
    not_a_device = tmp_path / "event0"
    not_a_device.write_bytes(b"")
    with pytest.raises(DeviceUnavailableError):
        open_input_device(str(not_a_device))


def test_keeps_retrying_quietly_and_closes_promptly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        driver = HidScanner(str(tmp_path / "absent"), name="wedge", backoff=Backoff(0.001, 0.002))
        assert isinstance(driver, ScannerDriver)
        collector = Collector(driver)
        await eventually(lambda: len(caplog.records) >= 3)
        assert not driver.connected
        assert not await driver.feedback(True)
        await collector.stop()
        assert collector.items == []

    with caplog.at_level(logging.DEBUG, logger="scanctl.drivers.hid_reader"):
        run(scenario())
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1


def _uinput(vendor: int = 0x1234, product: int = 0x5678):  # type: ignore[no-untyped-def]
    from evdev import UInput

    keys = [code for code in range(1, 0x100)]
    return UInput({E.EV_KEY: keys}, name="scanctl test wedge", vendor=vendor, product=product)


def _type(device: object, text_codes: list[tuple[int, bool]]) -> None:
    for code, shifted in text_codes:
        if shifted:
            device.write(E.EV_KEY, E.KEY_LEFTSHIFT, 1)  # type: ignore[attr-defined]
        device.write(E.EV_KEY, code, 1)  # type: ignore[attr-defined]
        device.write(E.EV_KEY, code, 0)  # type: ignore[attr-defined]
        if shifted:
            device.write(E.EV_KEY, E.KEY_LEFTSHIFT, 0)  # type: ignore[attr-defined]
        device.syn()  # type: ignore[attr-defined]


@needs_uinput
def test_reads_a_grabbed_uinput_device_by_usb_id_and_survives_replug() -> None:
    async def scenario() -> None:
        first = _uinput()
        driver = HidScanner("1234:5678", name="wedge", backoff=Backoff(0.01, 0.05))
        collector = Collector(driver)
        await eventually(lambda: driver.connected)
        _type(first, [(E.KEY_RIGHTBRACE, False), (E.KEY_Q, True), (E.KEY_1, False)])
        _type(first, [(E.KEY_A, False), (E.KEY_ENTER, False)])
        items = await collector.wait_for_count(1)
        assert [(s.payload, s.symbology) for s in items] == [(b"a", "]Q1")]  # type: ignore[attr-defined]
        first.close()  # unplugged
        await eventually(lambda: not driver.connected)
        second = _uinput()
        try:
            await eventually(lambda: driver.connected and driver.counters.reconnects == 1)
            _type(second, [(E.KEY_B, False), (E.KEY_ENTER, False)])
            items = await collector.wait_for_count(2)
            assert items[-1].payload == b"b"  # type: ignore[attr-defined]
        finally:
            await collector.stop()
            second.close()

    run(scenario())
