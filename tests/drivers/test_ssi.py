"""Zebra SSI parsing: answers taken out of the code stream, packets ACKed, NAKs retried."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scanctl.core import BadRead
from scanctl.drivers import (
    CMD_ACK,
    CMD_NAK,
    DECODE_DATA,
    NAK_RESEND,
    DriverCounters,
    Rejected,
    SsiDemux,
    SsiFrame,
    SsiLink,
    SsiPacket,
    SsiWrite,
    encode_packet,
    zebra_ssi_beep,
)

DECODER = 0x00
ACK = encode_packet(CMD_ACK, source=DECODER)
NAK_AGAIN = encode_packet(CMD_NAK, bytes((NAK_RESEND,)), source=DECODER)
HOST_ACK = encode_packet(CMD_ACK)


def _checksum(body: bytes) -> bytes:
    # Written out from the guide, independently of scanctl's ssi_checksum.
    return ((0x10000 - sum(body)) % 0x10000).to_bytes(2, "big")


def test_packets_match_the_guides_layout() -> None:
    body = bytes((0x04, 0xD0, 0x00, 0x00))
    assert body + _checksum(body) == ACK
    assert encode_packet(0xE6, b"\x00") == zebra_ssi_beep(0)  # our BEEP, built both ways


def test_an_ack_between_codes_is_not_part_of_either() -> None:
    # The bug this module fixes: an ACK glued to the next code made both unreadable.
    demux = SsiDemux(packeted=False, inter_byte_timeout=0.1)
    items = demux.feed(b"]Q1one\r" + ACK + b"]Q1two\r", 0.0)
    assert items == [b"]Q1one\r", SsiPacket(CMD_ACK, DECODER, 0, b""), b"]Q1two\r"]


def test_an_answer_split_across_reads_waits_for_its_rest() -> None:
    demux = SsiDemux(packeted=False, inter_byte_timeout=0.1)
    assert demux.feed(b"]Q1a\r" + ACK[:3], 0.0) == [b"]Q1a\r"]
    assert demux.deadline == 0.1
    assert demux.feed(ACK[3:] + b"]Q1b\r", 0.01) == [
        SsiPacket(CMD_ACK, DECODER, 0, b""),
        b"]Q1b\r",
    ]
    assert demux.deadline is None


def test_a_damaged_answer_stays_in_the_stream() -> None:
    demux = SsiDemux(packeted=False, inter_byte_timeout=0.1)
    damaged = ACK[:-1] + bytes((ACK[-1] ^ 1,))
    assert demux.feed(damaged + b"\r", 0.0) == [damaged + b"\r"]


def test_packeted_decode_data_is_acked_and_scanned_once() -> None:
    counters = DriverCounters()
    link = SsiLink(counters, packeted=True)
    packet = encode_packet(DECODE_DATA, b"\x1c" + b"code-1", source=DECODER)
    assert link.feed(packet, 0.0) == [SsiWrite(HOST_ACK), SsiFrame(b"]Q1code-1")]
    # Our ACK got lost: the decoder sends it again, marked as a retransmission.
    again = encode_packet(DECODE_DATA, b"\x1c" + b"code-1", status=0x01, source=DECODER)
    assert link.feed(again, 0.1) == [SsiWrite(HOST_ACK)]
    # A new read of the same code (not a retransmission) is a read of its own.
    assert link.feed(packet, 0.2)[1] == SsiFrame(b"]Q1code-1")


def test_multi_packet_codes_are_joined() -> None:
    link = SsiLink(DriverCounters(), packeted=True)
    first = encode_packet(DECODE_DATA, b"\x03" + b"part-", status=0x02, source=DECODER)
    last = encode_packet(DECODE_DATA, b"\x03" + b"two", source=DECODER)
    assert link.feed(first, 0.0) == [SsiWrite(HOST_ACK)]
    assert link.feed(last, 0.0) == [SsiWrite(HOST_ACK), SsiFrame(b"]C0part-two")]


def test_a_damaged_packet_is_naked_and_answered_as_unreadable() -> None:
    counters = DriverCounters()
    link = SsiLink(counters, packeted=True)
    packet = bytearray(encode_packet(DECODE_DATA, b"\x1cabc", source=DECODER))
    packet[5] ^= 0x20
    items = link.feed(bytes(packet), 0.0)
    assert items[0] == SsiWrite(encode_packet(CMD_NAK, bytes((NAK_RESEND,))))
    assert isinstance(items[1], Rejected) and items[1].reason is BadRead.UNREADABLE
    assert counters.malformed == 1


def test_a_partial_packet_expires_as_incomplete() -> None:
    counters = DriverCounters()
    link = SsiLink(counters, packeted=True, inter_byte_timeout=0.1)
    packet = encode_packet(DECODE_DATA, b"\x1cabc", source=DECODER)
    assert link.feed(packet[:5], 0.0) == []
    assert link.expire(0.05) == []
    assert link.expire(0.2) == [Rejected(BadRead.INCOMPLETE, packet[:5])]
    assert counters.partial_discarded == 1


def test_a_naked_beep_is_sent_again_then_given_up() -> None:
    counters = DriverCounters()
    link = SsiLink(counters)
    beep = zebra_ssi_beep(0)
    link.sent(beep)
    (resend,) = link.feed(NAK_AGAIN, 0.0)
    assert isinstance(resend, SsiWrite)
    assert resend.data[3] & 0x01 and resend.data[:3] == beep[:3]  # marked as a resend
    assert link.feed(NAK_AGAIN, 0.0) == [resend]
    assert link.feed(NAK_AGAIN, 0.0) == []  # three attempts in all
    assert (counters.feedback_retried, counters.feedback_failed, counters.ssi_naks) == (2, 1, 3)
    link.sent(beep)
    assert link.feed(ACK, 0.0) == []
    assert counters.ssi_acks == 1


@given(st.binary(max_size=300), st.booleans())
def test_arbitrary_bytes_never_raise(data: bytes, packeted: bool) -> None:
    link = SsiLink(DriverCounters(), packeted=packeted)
    link.sent(zebra_ssi_beep(0))
    for cut in (0, len(data) // 3, len(data)):
        link.feed(data[:cut], 0.0)
    link.expire(10.0)


@given(st.lists(st.one_of(st.binary(max_size=30), st.just(ACK), st.just(NAK_AGAIN)), max_size=12))
def test_unpacketed_mode_loses_no_byte(chunks: list[bytes]) -> None:
    demux = SsiDemux(packeted=False, inter_byte_timeout=0.1)
    stream = b"".join(chunks)
    out = b""
    for start in range(0, len(stream), 7):
        for item in demux.feed(stream[start : start + 7], 0.0):
            out += item if isinstance(item, bytes) else _encode(item)
    held = demux.expire(1.0) or b""
    assert out + held == stream


def _encode(packet: SsiPacket | Rejected) -> bytes:
    assert isinstance(packet, SsiPacket)
    return encode_packet(packet.opcode, packet.data, status=packet.status, source=packet.source)
