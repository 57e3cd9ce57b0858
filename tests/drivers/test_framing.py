"""Tests for scanctl.drivers.framing: terminators, noise, over-long and partial frames."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.core import BadRead
from scanctl.drivers import DriverConfigError, FrameAssembler, Rejected, Terminator


def test_cr_frames_split_across_chunks() -> None:
    assembler = FrameAssembler(Terminator.CR)
    assert assembler.feed(b"abc", 0.0) == []
    assert assembler.feed(b"def\rghi\r", 0.01) == [b"abcdef", b"ghi"]
    assert assembler.counters.partial_discarded == 0


def test_cr_mode_tolerates_crlf_scanners() -> None:
    assembler = FrameAssembler(Terminator.CR)
    assert assembler.feed(b"one\r\ntwo\r\n", 0.0) == [b"one", b"two"]
    # The trailing LF left over is not a partial frame when time passes.
    assembler.expire(10.0)
    assert assembler.counters.partial_discarded == 0


def test_lf_mode_drops_cr_before_lf() -> None:
    assembler = FrameAssembler(Terminator.LF)
    assert assembler.feed(b"one\ntwo\r\n", 0.0) == [b"one", b"two"]


def test_crlf_mode_needs_both() -> None:
    assembler = FrameAssembler("crlf")
    assert assembler.feed(b"good\r\nbare\nx\ry\r\n", 0.0) == [b"good"]
    # "bare" ends with a bare LF; "x\ry" carries a CR inside the code.
    assert assembler.counters.malformed == 2


def test_stx_etx_frames_and_noise_between() -> None:
    assembler = FrameAssembler(Terminator.STX_ETX)
    stream = b"\x02one\x03\r\n\xff\xfe\x02two\x03junk\x02thr"
    assert assembler.feed(stream, 0.0) == [b"one", b"two"]
    assert assembler.counters.malformed == 2  # the two runs of stray bytes, once each
    assert assembler.feed(b"ee\x03", 0.01) == [b"three"]


def test_stx_inside_frame_restarts_it() -> None:
    assembler = FrameAssembler(Terminator.STX_ETX)
    assert assembler.feed(b"\x02cut\x02whole\x03", 0.0) == [b"whole"]
    assert assembler.counters.malformed == 1


def test_binary_noise_is_counted_not_yielded() -> None:
    assembler = FrameAssembler(Terminator.CR)
    assert assembler.feed(b"\x00\x01\xff\x80garbage\rok\r", 0.0) == [b"ok"]
    assert assembler.counters.malformed == 1


def test_gs1_separators_are_allowed() -> None:
    assembler = FrameAssembler(Terminator.CR)
    assert assembler.feed(b"]C101234\x1d10ABC\r", 0.0) == [b"]C101234\x1d10ABC"]


def test_partial_frame_dropped_after_inter_byte_timeout() -> None:
    assembler = FrameAssembler(Terminator.CR, inter_byte_timeout=0.05)
    assert assembler.feed(b"half", 0.0) == []
    assert assembler.deadline == pytest.approx(0.05)
    assert assembler.feed(b"next\r", 0.2) == [b"next"]
    assert assembler.counters.partial_discarded == 1


def test_expire_discards_a_stalled_frame_once() -> None:
    assembler = FrameAssembler(Terminator.CR, inter_byte_timeout=0.05)
    assembler.feed(b"stalled", 1.0)
    assembler.expire(1.04)
    assert assembler.counters.partial_discarded == 0
    assembler.expire(1.06)
    assembler.expire(2.0)
    assert assembler.counters.partial_discarded == 1
    assert assembler.deadline is None


def test_slow_bytes_within_the_timeout_make_a_frame() -> None:
    assembler = FrameAssembler(Terminator.CR, inter_byte_timeout=0.05)
    frames = [f for i, b in enumerate(b"slow\r") for f in assembler.feed(bytes([b]), i * 0.04)]
    assert frames == [b"slow"]


def test_over_long_frame_dropped_until_its_terminator() -> None:
    assembler = FrameAssembler(Terminator.CR, max_length=8)
    assert assembler.feed(b"123456789", 0.0) == []
    assert assembler.feed(b"0123456789\rshort\r", 0.0) == [b"short"]
    assert assembler.counters.over_long == 1


def test_frame_of_exactly_max_length_passes() -> None:
    cases = [
        (Terminator.CR, b"\r"),
        (Terminator.CR, b"\r\n"),
        (Terminator.LF, b"\r\n"),
        (Terminator.CRLF, b"\r\n"),
    ]
    for terminator, end in cases:
        assembler = FrameAssembler(terminator, max_length=4)
        stream = b"abcd" + end + b"abcd" + end + b"abcde" + end
        assert assembler.feed(stream, 0.0) == [b"abcd", b"abcd"], (terminator, end)
        assert assembler.counters.over_long == 1


def test_over_long_frame_ends_with_the_timeout_too() -> None:
    assembler = FrameAssembler(Terminator.CR, max_length=4, inter_byte_timeout=0.05)
    assembler.feed(b"toolongframe", 0.0)
    assert assembler.feed(b"ok\r", 1.0) == [b"ok"]
    assert (assembler.counters.over_long, assembler.counters.partial_discarded) == (1, 0)


def test_reset_counts_the_partial_frame() -> None:
    assembler = FrameAssembler(Terminator.STX_ETX)
    assembler.feed(b"\x02abc", 0.0)
    assembler.reset()
    assert assembler.counters.partial_discarded == 1
    assert assembler.feed(b"def\x03", 0.0) == []


def test_empty_lines_are_ignored() -> None:
    assembler = FrameAssembler(Terminator.LF)
    assert assembler.feed(b"\n\n\r\nx\n", 0.0) == [b"x"]
    assert assembler.counters.malformed == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"terminator": "nul"}, {"max_length": 0}, {"inter_byte_timeout": 0}],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(DriverConfigError):
        FrameAssembler(**kwargs)  # type: ignore[arg-type]


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(
    terminator=st.sampled_from(list(Terminator)),
    data=st.binary(max_size=2000),
    cuts=st.lists(st.integers(min_value=0), max_size=20),
    gaps=st.lists(st.floats(min_value=0, max_value=0.2), min_size=21, max_size=21),
    max_length=st.integers(min_value=1, max_value=64),
)
def test_arbitrary_bytes_never_raise(
    terminator: Terminator, data: bytes, cuts: list[int], gaps: list[float], max_length: int
) -> None:
    assembler = FrameAssembler(terminator, max_length=max_length, inter_byte_timeout=0.1)
    now = 0.0
    for chunk, gap in zip(_chunks(data, cuts), gaps, strict=False):
        now += gap
        for frame in assembler.feed(chunk, now):
            assert 0 < len(frame) <= max_length
            assert all(0x20 <= b < 0x7F or b in (0x04, 0x1C, 0x1D, 0x1E) for b in frame)
        assembler.expire(now)


_code = st.binary(min_size=1, max_size=40).map(
    lambda b: bytes(0x21 + (x % 0x5E) for x in b)  # printable, no spaces at the edges
)


@given(
    terminator=st.sampled_from(list(Terminator)),
    pieces=st.lists(st.tuples(st.binary(max_size=80), _code), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=0), max_size=30),
)
def test_frames_between_noise_are_all_recovered(
    terminator: Terminator, pieces: list[tuple[bytes, bytes]], cuts: list[int]
) -> None:
    if terminator is Terminator.STX_ETX:
        # Noise is anything but STX/ETX; each code is framed by them.
        stream = b"".join(
            noise.translate(None, b"\x02\x03") + b"\x02" + code + b"\x03" for noise, code in pieces
        )
    else:
        end = {Terminator.CR: b"\r", Terminator.LF: b"\n", Terminator.CRLF: b"\r\n"}[terminator]
        # Noise never contains a line end; it is terminated like a frame of its own.
        stream = b"".join(
            noise.translate(None, b"\r\n") + end + code + end for noise, code in pieces
        )
    assembler = FrameAssembler(terminator, max_length=40)
    frames = [f for chunk in _chunks(stream, cuts) for f in assembler.feed(chunk, 0.0)]
    codes = [code for _, code in pieces]
    found = iter(frames)
    assert all(any(f == code for f in found) for code in codes), (codes, frames)


def test_every_rejected_read_is_handed_back_in_its_place() -> None:
    assembler = FrameAssembler(max_length=8)
    items = assembler.feed_all(b"ok1\r\x00\xff\r" + b"y" * 20 + b"\rok2\r", 0.0)
    assert items == [
        b"ok1",
        Rejected(BadRead.UNREADABLE, b"\x00\xff"),
        Rejected(BadRead.TOO_LONG, b""),
        b"ok2",
    ]
    assembler.feed_all(b"half", 1.0)
    assert assembler.expire(1.05) is None  # still within the inter-byte timeout
    assert assembler.expire(2.0) == Rejected(BadRead.INCOMPLETE, b"half")


def test_stx_etx_rejections() -> None:
    assembler = FrameAssembler(Terminator.STX_ETX, max_length=4)
    items = assembler.feed_all(b"noise\x02cut\x02toolong\x02ok\x03", 0.0)
    assert items == [
        Rejected(BadRead.UNREADABLE, b"noise"),
        Rejected(BadRead.UNREADABLE, b"cut"),
        Rejected(BadRead.TOO_LONG, b""),
        b"ok",
    ]
    assert FrameAssembler(Terminator.CRLF).feed_all(b"bare\n", 0.0) == [
        Rejected(BadRead.UNREADABLE, b"bare")
    ]


@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"")), max_size=20))
def test_every_terminated_read_gets_exactly_one_item(frames: list[bytes]) -> None:
    # Whatever a scanner ends with its terminator is answered once: good or rejected.
    assembler = FrameAssembler(max_length=16)
    items = assembler.feed_all(b"".join(frame + b"\r" for frame in frames), 0.0)
    assert len(items) == sum(1 for frame in frames if frame.lstrip(b"\n"))
