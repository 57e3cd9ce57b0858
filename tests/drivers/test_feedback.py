"""Tests for scanctl.drivers.feedback: the exact bytes of each protocol."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.drivers import (
    DriverConfigError,
    FeedbackEncoder,
    honeywell_host_ack,
    ssi_checksum,
    zebra_ssi_beep,
)


def test_honeywell_host_ack_bytes() -> None:
    assert honeywell_host_ack(True) == b"\x1b7,"
    assert honeywell_host_ack(False) == b"\x1b8,"
    assert honeywell_host_ack(True, work_group=2) == b"2\x1b7,"
    with pytest.raises(DriverConfigError):
        honeywell_host_ack(True, work_group=7)


def test_ssi_checksum_matches_the_guide_example() -> None:
    # SSI programmer's guide example packet: 08 80 00 00 00 04 06 00, checksum FF 6E.
    assert ssi_checksum(bytes.fromhex("0880000000040600")) == bytes.fromhex("ff6e")


def test_zebra_beep_packet() -> None:
    assert zebra_ssi_beep(0x00) == bytes.fromhex("05e6040000ff11")
    packet = zebra_ssi_beep(0x16)
    assert packet[:5] == bytes.fromhex("05e6040016")
    with pytest.raises(DriverConfigError):
        zebra_ssi_beep(0x1B)


@given(st.integers(min_value=0, max_value=0x1A))
def test_ssi_packets_sum_to_zero(code: int) -> None:
    packet = zebra_ssi_beep(code)
    body, check = packet[:-2], int.from_bytes(packet[-2:], "big")
    assert (sum(body) + check) & 0xFFFF == 0
    assert packet[0] == len(body)


def test_encoder_per_protocol() -> None:
    assert FeedbackEncoder().encode(True) == b""
    assert FeedbackEncoder("honeywell-ack").encode(False) == b"\x1b8,"
    ssi = FeedbackEncoder("zebra-ssi", good_beep=1, bad_beep=2)
    assert ssi.encode(True) == zebra_ssi_beep(1)
    assert ssi.encode(False) == zebra_ssi_beep(2)
    with pytest.raises(DriverConfigError):
        FeedbackEncoder("morse")


def test_an_admission_with_a_warning_sounds_different_where_the_protocol_allows() -> None:
    """Honeywell: the good indication (it releases host ACK), then two low beeps; Zebra
    SSI: two short high tones. Never the bad-read sound; no protocol: nothing."""
    honeywell = FeedbackEncoder("honeywell-ack", work_group=1)
    assert honeywell.encode(True, warning=True) == b"1\x1b7,1\x1b4,1\x1b4,"
    assert honeywell_host_ack(True, warning=True) == b"\x1b7,\x1b4,\x1b4,"
    assert honeywell_host_ack(False, warning=True) == b"\x1b8,"
    ssi = FeedbackEncoder("zebra-ssi")
    assert ssi.encode(True, warning=True) == zebra_ssi_beep(0x01)
    assert len({ssi.encode(True), ssi.encode(False), ssi.encode(True, warning=True)}) == 3
    assert ssi.encode(False, warning=True) == ssi.encode(False)
    assert FeedbackEncoder("zebra-ssi", warning_beep=0x17).encode(True, warning=True) == (
        zebra_ssi_beep(0x17)
    )
    assert FeedbackEncoder().encode(True, warning=True) == b""
