"""Builds each `[[scanner]]` table's driver from the drivers package."""

from __future__ import annotations

from typing import Protocol

from scanctl.daemon.config import DriverKind, FeedbackKind, ScannerSettings
from scanctl.drivers import FeedbackEncoder, FeedbackProtocol, ScannerDriver, SerialScanner
from scanctl.drivers.aim import SymbologyFilter

__all__ = ["UnsupportedDriver", "build_driver"]


class UnsupportedDriver(Exception):
    """The configured driver is not available on this machine."""


class DriverHost(Protocol):
    """What a driver may need from the daemon (the simulated one needs codes to mint)."""


_FEEDBACK = {
    FeedbackKind.NONE: FeedbackProtocol.NONE,
    FeedbackKind.HONEYWELL: FeedbackProtocol.HONEYWELL_ACK,
    FeedbackKind.ZEBRA_SSI: FeedbackProtocol.ZEBRA_SSI,
}


def build_driver(scanner: ScannerSettings, host: DriverHost) -> ScannerDriver:
    """The driver for one scanner table."""
    if scanner.driver is DriverKind.SERIAL:
        assert scanner.path is not None
        return SerialScanner(
            scanner.path,
            name=scanner.name,
            baudrate=scanner.baud,
            terminator=scanner.terminator.value,
            symbologies=SymbologyFilter([name.lower() for name in scanner.symbologies]),
            feedback=FeedbackEncoder(_FEEDBACK[scanner.feedback]),
        )
    raise UnsupportedDriver(f"scanner {scanner.name}: driver {scanner.driver} is not built yet")
