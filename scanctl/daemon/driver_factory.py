"""Builds each `[[scanner]]` table's driver from the drivers package."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from scanctl.core import Direction, TicketStatus
from scanctl.daemon.config import DriverKind, FeedbackKind, ScannerSettings
from scanctl.drivers import (
    DEFAULT_INTER_BYTE_TIMEOUT,
    DEFAULT_INTER_KEY_TIMEOUT,
    FeedbackEncoder,
    FeedbackProtocol,
    ScannerDriver,
    SerialScanner,
    SymbologyFilter,
)
from scanctl.drivers.hid_reader import HidScanner
from scanctl.drivers.simulated import ArrivalCurve, ScanMix, SimulatedScanner, SimulatedTickets
from scanctl.drivers.stdin import STDIN_INTER_BYTE_TIMEOUT, StdinScanner
from scanctl.drivers.tcp import TcpScanner

__all__ = ["DriverHost", "UnsupportedDriver", "build_driver"]


class UnsupportedDriver(Exception):
    """The configured driver cannot be built from this configuration."""


class DriverHost(Protocol):
    """What a simulated scanner needs from the daemon: codes to mint and whom to mint for."""

    def event_key(self) -> bytes: ...

    def ticket_ids(self, status: TicketStatus) -> list[str]: ...

    def tickets_inside(self) -> Sequence[str]:
        """Who is inside now, by this gate's passes (an exit lane lets them out)."""
        ...

    def simulated_lane(self, scanner: ScannerSettings) -> tuple[int, int]:
        """This simulated scanner's index among the simulated ones, and their count."""
        ...


_FEEDBACK = {
    FeedbackKind.NONE: FeedbackProtocol.NONE,
    FeedbackKind.HONEYWELL: FeedbackProtocol.HONEYWELL_ACK,
    FeedbackKind.ZEBRA_SSI: FeedbackProtocol.ZEBRA_SSI,
}


def build_driver(scanner: ScannerSettings, host: DriverHost) -> ScannerDriver:
    """The driver for one scanner table."""
    symbologies = SymbologyFilter([name.lower() for name in scanner.symbologies])
    terminator = scanner.terminator.value
    pause = scanner.inter_byte_timeout_ms
    if scanner.driver is DriverKind.SERIAL:
        assert scanner.path is not None
        return SerialScanner(
            scanner.path,
            name=scanner.name,
            baudrate=scanner.baud,
            terminator=terminator,
            symbologies=symbologies,
            feedback=FeedbackEncoder(_FEEDBACK[scanner.feedback]),
            ssi_packets=scanner.ssi_packets,
            inter_byte_timeout=_seconds(pause, DEFAULT_INTER_BYTE_TIMEOUT),
        )
    if scanner.driver is DriverKind.HID:
        assert scanner.path is not None
        return HidScanner(
            scanner.path,
            name=scanner.name,
            layout=scanner.layout,
            symbologies=symbologies,
            inter_key_timeout=_seconds(pause, DEFAULT_INTER_KEY_TIMEOUT),
        )
    if scanner.driver is DriverKind.TCP:
        assert scanner.url is not None
        address = urlsplit(scanner.url)
        if address.scheme != "tcp" or not address.hostname or address.port is None:
            raise UnsupportedDriver(f"scanner {scanner.name}: url must be tcp://host:port")
        return TcpScanner(
            address.hostname,
            address.port,
            name=scanner.name,
            terminator=terminator,
            symbologies=symbologies,
            inter_byte_timeout=_seconds(pause, DEFAULT_INTER_BYTE_TIMEOUT),
        )
    if scanner.driver is DriverKind.STDIN:
        return StdinScanner(
            name=scanner.name,
            symbologies=symbologies,
            inter_byte_timeout=_seconds(pause, STDIN_INTER_BYTE_TIMEOUT),
        )
    return _simulated(scanner, host)


def _seconds(milliseconds: int | None, default: float) -> float:
    """A configured pause in seconds; unset keeps the driver's own default."""
    return default if milliseconds is None else milliseconds / 1000


def _simulated(scanner: ScannerSettings, host: DriverHost) -> ScannerDriver:
    index, count = host.simulated_lane(scanner)
    # Each simulated lane draws from its own share of the tickets, so lanes do not
    # "admit" each other's holders; duplicates and replays still come from the mix.
    valid = host.ticket_ids(TicketStatus.ACTIVE)[index::count]
    if not valid:
        raise UnsupportedDriver(f"scanner {scanner.name}: the manifest has no active tickets")
    # An exit lane lets out people who came in, never holders who were not there.
    inside = host.tickets_inside if scanner.direction is Direction.EXIT else None
    return SimulatedScanner(
        event_key=host.event_key(),
        tickets=SimulatedTickets(
            valid, refunded=host.ticket_ids(TicketStatus.REFUNDED), inside=inside
        ),
        mix=ScanMix(wrong_event=0.0),
        rate=ArrivalCurve(peak_per_s=scanner.rate_per_s),
        seed=scanner.seed,
        time_scale=scanner.time_scale,
        name=scanner.name,
    )
