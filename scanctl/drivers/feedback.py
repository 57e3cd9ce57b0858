"""Good-read, bad-read and admitted-with-a-warning feedback, in each protocol's bytes. Pure."""

from __future__ import annotations

from enum import StrEnum

from scanctl.drivers.errors import DriverConfigError

__all__ = [
    "SSI_BEEP_BAD",
    "SSI_BEEP_GOOD",
    "SSI_BEEP_WARNING",
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
# Admitted with a warning (an expired manifest): the good indication (it also releases a
# scanner waiting for its host ACK), then two beeps at low pitch ("ESC 4", one beep at
# low pitch) — a sound the door hears as "yes, but look", never as the error razz.
_HONEYWELL_LOW_BEEP = _ESC + b"4,"

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
SSI_BEEP_WARNING = 0x01
"""Two short high tones: admitted with a warning (unlike the one good tone or the
high-low error tone); ``warning_beep`` chooses another code."""


class FeedbackProtocol(StrEnum):
    """How a scanner is told the outcome of a read."""

    NONE = "none"
    HONEYWELL_ACK = "honeywell-ack"
    ZEBRA_SSI = "zebra-ssi"


def honeywell_host_ack(
    good: bool, *, work_group: int | None = None, warning: bool = False
) -> bytes:
    """``ESC 7 ,`` for a good read, ``ESC 8 ,`` for a bad one, optionally for a work group;
    a good read with a warning adds two low beeps (``ESC 4 ,`` twice)."""
    if work_group is not None and not 0 <= work_group <= 6:
        raise DriverConfigError("Honeywell work groups are 0 to 6")
    prefix = b"" if work_group is None else str(work_group).encode("ascii")
    if good and warning:
        return b"".join(
            prefix + command for command in (_HONEYWELL_GOOD, *[_HONEYWELL_LOW_BEEP] * 2)
        )
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
    """The bytes to send for a good or a bad read under one protocol (empty for NONE), and
    for an admission with a warning: a sequence of its own where the protocol has one
    (Honeywell: good, then two low beeps; Zebra SSI: ``warning_beep``)."""

    def __init__(
        self,
        protocol: FeedbackProtocol | str = FeedbackProtocol.NONE,
        *,
        work_group: int | None = None,
        good_beep: int = SSI_BEEP_GOOD,
        bad_beep: int = SSI_BEEP_BAD,
        warning_beep: int = SSI_BEEP_WARNING,
    ) -> None:
        try:
            self.protocol = FeedbackProtocol(protocol)
        except ValueError:
            choices = ", ".join(p.value for p in FeedbackProtocol)
            raise DriverConfigError(f"unknown feedback protocol {protocol!r} ({choices})") from None
        if self.protocol is FeedbackProtocol.HONEYWELL_ACK:
            self._good = honeywell_host_ack(True, work_group=work_group)
            self._bad = honeywell_host_ack(False, work_group=work_group)
            self._warning = honeywell_host_ack(True, work_group=work_group, warning=True)
        elif self.protocol is FeedbackProtocol.ZEBRA_SSI:
            self._good, self._bad = zebra_ssi_beep(good_beep), zebra_ssi_beep(bad_beep)
            self._warning = zebra_ssi_beep(warning_beep)
        else:
            self._good = self._bad = self._warning = b""

    def encode(self, good: bool, *, warning: bool = False) -> bytes:
        """The bytes for one outcome; empty when the protocol has no feedback. ``warning``
        (a good read admitted with a warning) has its own sequence."""
        if good and warning:
            return self._warning
        return self._good if good else self._bad
