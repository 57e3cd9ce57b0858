"""Good-read/bad-read feedback to scanners, as the bytes each documented protocol wants. Pure."""

from __future__ import annotations

from enum import StrEnum

from scanctl.drivers.errors import DriverConfigError

__all__ = [
    "SSI_BEEP_BAD",
    "SSI_BEEP_GOOD",
    "FeedbackEncoder",
    "FeedbackProtocol",
    "honeywell_host_ack",
    "ssi_checksum",
    "zebra_ssi_beep",
]

# Honeywell "Host ACK" mode (Xenon/Granit 19xx user guide, "Host ACK On/Off"; 2020 user
# manual, "Host Escape Commands"): the scanner stays silent after a read until the host
# sends "[work group] ESC x ," — ESC 7 "indicate as successful decode and communication
# to host", ESC 8 "indicate as unsuccessful decode". The comma terminator is required;
# the work group digit is optional (scanners default to group 0).
_ESC = b"\x1b"
_HONEYWELL_GOOD = _ESC + b"7,"
_HONEYWELL_BAD = _ESC + b"8,"

# Zebra/Symbol SSI (Simple Serial Interface Programmer's Guide 72E-40451): a packet is
# Length (bytes before the checksum), Opcode, Message Source (0x04 = host), Status,
# Data..., then a 2-byte checksum sent high byte first: the two's complement of the
# 16-bit sum of every byte before it. BEEP is opcode 0xE6 with one data byte, the beep
# code: 0x00 one short high tone; 0x16 is the high-low error tone. Checked against the
# guide's own example packets (e.g. "08 80 00 00 00 04 06 00 FF 6E"); a good-read
# BEEP comes out as 05 E6 04 00 00 FF 11.
_SSI_BEEP = 0xE6
_SSI_SOURCE_HOST = 0x04
SSI_BEEP_GOOD = 0x00
SSI_BEEP_BAD = 0x16


class FeedbackProtocol(StrEnum):
    """How a scanner is told the outcome of a read."""

    NONE = "none"
    HONEYWELL_ACK = "honeywell-ack"
    ZEBRA_SSI = "zebra-ssi"


def honeywell_host_ack(good: bool, *, work_group: int | None = None) -> bytes:
    """``ESC 7 ,`` for a good read, ``ESC 8 ,`` for a bad one, optionally for a work group."""
    if work_group is not None and not 0 <= work_group <= 6:
        raise DriverConfigError("Honeywell work groups are 0 to 6")
    prefix = b"" if work_group is None else str(work_group).encode("ascii")
    return prefix + (_HONEYWELL_GOOD if good else _HONEYWELL_BAD)


def ssi_checksum(packet: bytes) -> bytes:
    """The SSI checksum of a packet: two's complement of the 16-bit byte sum, big-endian."""
    return ((-sum(packet)) & 0xFFFF).to_bytes(2, "big")


def zebra_ssi_beep(beep_code: int) -> bytes:
    """A complete SSI BEEP packet for one beep code (0x00 to 0x1A)."""
    if not 0 <= beep_code <= 0x1A:
        raise DriverConfigError("SSI beep codes are 0x00 to 0x1A")
    fields = (_SSI_BEEP, _SSI_SOURCE_HOST, 0x00, beep_code)
    body = bytes((len(fields) + 1, *fields))  # the length byte counts itself
    return body + ssi_checksum(body)


class FeedbackEncoder:
    """The bytes to send for a good or a bad read under one protocol (empty for NONE)."""

    def __init__(
        self,
        protocol: FeedbackProtocol | str = FeedbackProtocol.NONE,
        *,
        work_group: int | None = None,
        good_beep: int = SSI_BEEP_GOOD,
        bad_beep: int = SSI_BEEP_BAD,
    ) -> None:
        try:
            self.protocol = FeedbackProtocol(protocol)
        except ValueError:
            choices = ", ".join(p.value for p in FeedbackProtocol)
            raise DriverConfigError(f"unknown feedback protocol {protocol!r} ({choices})") from None
        if self.protocol is FeedbackProtocol.HONEYWELL_ACK:
            self._good = honeywell_host_ack(True, work_group=work_group)
            self._bad = honeywell_host_ack(False, work_group=work_group)
        elif self.protocol is FeedbackProtocol.ZEBRA_SSI:
            self._good, self._bad = zebra_ssi_beep(good_beep), zebra_ssi_beep(bad_beep)
        else:
            self._good = self._bad = b""

    def encode(self, good: bool) -> bytes:
        """The bytes for one outcome; empty when the protocol has no feedback."""
        return self._good if good else self._bad
