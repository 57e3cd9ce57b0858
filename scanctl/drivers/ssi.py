"""Zebra SSI spoken both ways: the decoder's packets parsed, the host's answers built. Pure.

Why this exists: in SSI mode the decoder answers every packet the host sends (our BEEP)
with CMD_ACK or CMD_NAK, and may send its codes as DECODE_DATA packets that the host
must ACK. Left to the line framing, those bytes were taken for the start of a code:
every good read counted a partial frame, and a code arriving right after an ACK was
glued to it and lost. Here they are taken out of the byte stream first.

Packet layout (Simple Serial Interface Programmer's Guide, 72E-40451): Length (bytes
before the checksum, itself included), Opcode, Message Source (0x00 decoder, 0x04
host), Status (bit 0: retransmit; bit 1: continuation of a multi-packet message),
Data..., then the checksum (see ``feedback.ssi_checksum``). DECODE_DATA's data is the
barcode type byte followed by the code.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from scanctl.core import BadRead
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.feedback import ssi_checksum
from scanctl.drivers.framing import Rejected

__all__ = [
    "CMD_ACK",
    "CMD_NAK",
    "DECODE_DATA",
    "NAK_RESEND",
    "SSI_CODE_TYPES",
    "SsiDemux",
    "SsiFrame",
    "SsiLink",
    "SsiPacket",
    "SsiWrite",
    "encode_packet",
]

CMD_ACK = 0xD0
CMD_NAK = 0xD1
DECODE_DATA = 0xF3
SOURCE_DECODER = 0x00
SOURCE_HOST = 0x04
STATUS_RETRANSMIT = 0x01
STATUS_CONTINUATION = 0x02
NAK_RESEND = 0x01
"""CMD_NAK cause: the packet arrived damaged; send it again."""

_MIN_LENGTH = 4  # length, opcode, source, status
_ANSWERS = (CMD_ACK, CMD_NAK)
_ANSWER_LENGTHS = (_MIN_LENGTH, _MIN_LENGTH + 1)  # ACK; NAK with its cause byte
MAX_ATTEMPTS = 3
"""A NAKed host packet is sent at most this many times in all."""
MAX_OUTSTANDING = 16
"""Host packets remembered while awaiting their answer (decoders with handshaking off
never answer: the oldest are forgotten rather than kept forever)."""

# SSI barcode types (the guide's "Code Types" table) -> the AIM identifier the
# symbology accept-list filters on. Types not listed have no identifier.
SSI_CODE_TYPES: dict[int, str] = {
    0x01: "]A0",  # Code 39
    0x03: "]C0",  # Code 128
    0x0A: "]E4",  # EAN-8
    0x0B: "]E0",  # EAN-13
    0x0F: "]C1",  # GS1-128
    0x11: "]L0",  # PDF417
    0x1B: "]d1",  # Data Matrix
    0x1C: "]Q1",  # QR Code
    0x2D: "]z0",  # Aztec
}


def encode_packet(
    opcode: int, data: bytes = b"", *, status: int = 0, source: int = SOURCE_HOST
) -> bytes:
    """A complete SSI packet, checksum included."""
    body = bytes((_MIN_LENGTH + len(data), opcode, source, status)) + data
    return body + ssi_checksum(body)


def _checksum_ok(packet: bytes) -> bool:
    return ssi_checksum(packet[:-2]) == packet[-2:]


@dataclass(frozen=True, slots=True)
class SsiPacket:
    """One checked packet from the decoder."""

    opcode: int
    source: int
    status: int
    data: bytes

    @classmethod
    def parse(cls, packet: bytes) -> SsiPacket:
        return cls(packet[1], packet[2], packet[3], packet[4:-2])


@dataclass(frozen=True, slots=True)
class SsiFrame:
    """A code the decoder sent as DECODE_DATA, as an AIM-prefixed frame."""

    frame: bytes


@dataclass(frozen=True, slots=True)
class SsiWrite:
    """Bytes the host must send to the decoder now (an ACK, a NAK, a resent packet)."""

    data: bytes


class SsiDemux:
    """Splits what a decoder sends into checked packets and plain bytes, in order.

    Unpacketed (the decoder sends codes as plain text): only CMD_ACK and CMD_NAK are
    taken out, wherever they appear; their length and opcode bytes can never be part
    of a code, and the checksum must match. Packeted: everything is a packet; a
    damaged one is dropped and reported (the host NAKs it and the decoder resends).
    A trailing partial packet waits for the rest; ``expire`` drops it when overdue.
    """

    def __init__(self, *, packeted: bool, inter_byte_timeout: float) -> None:
        self.packeted = packeted
        self.inter_byte_timeout = inter_byte_timeout
        self._held = b""
        self._last_at = 0.0

    @property
    def deadline(self) -> float | None:
        """When a held partial packet will be dropped, if one is held."""
        return self._last_at + self.inter_byte_timeout if self._held else None

    def expire(self, now: float) -> bytes | None:
        """Drop a partial packet whose rest is overdue at ``now``; returns it."""
        deadline = self.deadline
        if deadline is None or now <= deadline:
            return None
        held, self._held = self._held, b""
        return held

    def feed(self, data: bytes, now: float) -> list[SsiPacket | bytes | Rejected]:
        """Packets, plain bytes and damaged packets (packeted mode), in arrival order."""
        if data:
            self._last_at = now
        buf = self._held + data
        if self.packeted:
            items, self._held = _split_packets(buf)
        else:
            items, self._held = _split_answers(buf)
        return items


def _split_packets(buf: bytes) -> tuple[list[SsiPacket | bytes | Rejected], bytes]:
    items: list[SsiPacket | bytes | Rejected] = []
    pos = 0
    while pos < len(buf):
        length = buf[pos]
        if length < _MIN_LENGTH:
            # Not a packet start: drop bytes up to the next plausible one.
            end = pos + 1
            while end < len(buf) and buf[end] < _MIN_LENGTH:
                end += 1
            items.append(Rejected(BadRead.UNREADABLE, buf[pos:end]))
            pos = end
            continue
        end = pos + length + 2
        if end > len(buf):
            break
        candidate = buf[pos:end]
        if _checksum_ok(candidate):
            items.append(SsiPacket.parse(candidate))
        else:
            items.append(Rejected(BadRead.UNREADABLE, candidate))
        pos = end
    return items, buf[pos:]


def _split_answers(buf: bytes) -> tuple[list[SsiPacket | bytes | Rejected], bytes]:
    items: list[SsiPacket | bytes | Rejected] = []
    plain_from = pos = 0
    while pos < len(buf):
        if buf[pos] not in _ANSWER_LENGTHS:
            pos += 1
            continue
        if pos + 1 == len(buf):
            break  # maybe the start of an answer: wait for the next byte
        if buf[pos + 1] not in _ANSWERS:
            pos += 1
            continue
        end = pos + buf[pos] + 2
        if end > len(buf):
            break  # an answer's start: wait for the rest of it
        candidate = buf[pos:end]
        if not _checksum_ok(candidate):
            pos += 1
            continue
        if pos > plain_from:
            items.append(buf[plain_from:pos])
        items.append(SsiPacket.parse(candidate))
        plain_from = pos = end
    if pos > plain_from:
        items.append(buf[plain_from:pos])
    return items, buf[pos:]


class SsiLink:
    """The host's side of an SSI conversation, on top of ``SsiDemux``.

    ``feed`` turns what the decoder sent into plain bytes (for the line framing),
    codes from DECODE_DATA (``SsiFrame``), damaged reads (``Rejected``) and what must
    be written back at once (``SsiWrite``): an ACK for every decoder packet, a NAK
    for a damaged one, and our own packet again when the decoder NAKs it as damaged.
    ``sent`` registers each packet the host sends, to match the decoder's answers.
    """

    def __init__(
        self,
        counters: DriverCounters,
        *,
        packeted: bool = False,
        inter_byte_timeout: float = 0.1,
    ) -> None:
        self.counters = counters
        self.demux = SsiDemux(packeted=packeted, inter_byte_timeout=inter_byte_timeout)
        self._outstanding: deque[tuple[bytes, int]] = deque(maxlen=MAX_OUTSTANDING)
        self._parts: list[bytes] = []
        self._type: int | None = None
        self._last_decode: SsiPacket | None = None

    def sent(self, packet: bytes) -> None:
        """The host sent ``packet``; its ACK or NAK is expected next, in order."""
        self._outstanding.append((packet, 1))

    def expire(self, now: float) -> list[Rejected]:
        """A partial packet dropped as overdue, as a read to answer."""
        dropped = self.demux.expire(now)
        if dropped is None:
            return []
        self._parts, self._type = [], None
        self.counters.partial_discarded += 1
        return [Rejected(BadRead.INCOMPLETE, dropped)]

    def feed(self, data: bytes, now: float) -> list[bytes | SsiFrame | SsiWrite | Rejected]:
        out: list[bytes | SsiFrame | SsiWrite | Rejected] = []
        for item in self.demux.feed(data, now):
            if isinstance(item, SsiPacket):
                out.extend(self._on_packet(item))
            elif isinstance(item, Rejected):
                self.counters.malformed += 1
                out += [SsiWrite(encode_packet(CMD_NAK, bytes((NAK_RESEND,)))), item]
            else:
                out.append(item)
        return out

    def _on_packet(self, packet: SsiPacket) -> list[SsiFrame | SsiWrite | Rejected]:
        if packet.opcode == CMD_ACK:
            self.counters.ssi_acks += 1
            if self._outstanding:
                self._outstanding.popleft()
            return []
        if packet.opcode == CMD_NAK:
            self.counters.ssi_naks += 1
            return self._on_nak(packet)
        ack = SsiWrite(encode_packet(CMD_ACK))
        if packet.opcode != DECODE_DATA:
            return [ack]  # events, replies: acknowledged, nothing to scan
        if packet.status & STATUS_RETRANSMIT and packet == _resent(self._last_decode):
            return [ack]  # our ACK was lost: the decoder sent it again; scan it once
        self._last_decode = packet
        if self._type is None:
            self._type = packet.data[0] if packet.data else None
        self._parts.append(packet.data[1:])
        if packet.status & STATUS_CONTINUATION:
            return [ack]
        code, code_type = b"".join(self._parts), self._type
        self._parts, self._type = [], None
        if code_type is None or not code:
            self.counters.malformed += 1
            return [ack, Rejected(BadRead.UNREADABLE, code)]
        return [ack, SsiFrame(SSI_CODE_TYPES.get(code_type, "").encode("ascii") + code)]

    def _on_nak(self, packet: SsiPacket) -> list[SsiFrame | SsiWrite | Rejected]:
        if not self._outstanding:
            return []
        sent, attempts = self._outstanding.popleft()
        cause = packet.data[0] if packet.data else NAK_RESEND
        if cause != NAK_RESEND or attempts >= MAX_ATTEMPTS:
            self.counters.feedback_failed += 1
            return []
        again = _as_retransmission(sent)
        self._outstanding.appendleft((again, attempts + 1))
        self.counters.feedback_retried += 1
        return [SsiWrite(again)]


def _resent(packet: SsiPacket | None) -> SsiPacket | None:
    """The packet as the decoder sends it again (retransmit bit set), to recognise it."""
    if packet is None:
        return None
    return SsiPacket(packet.opcode, packet.source, packet.status | STATUS_RETRANSMIT, packet.data)


def _as_retransmission(packet: bytes) -> bytes:
    body = bytearray(packet[:-2])
    body[3] |= STATUS_RETRANSMIT
    return bytes(body) + ssi_checksum(bytes(body))
