"""Turns a byte stream into frames: terminators, inter-byte timeout, length limit, noise. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scanctl.core import BadRead
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.errors import DriverConfigError

__all__ = [
    "DEFAULT_INTER_BYTE_TIMEOUT",
    "DEFAULT_MAX_LENGTH",
    "FrameAssembler",
    "Rejected",
    "Terminator",
    "frame_problem",
]

DEFAULT_MAX_LENGTH = 512
"""Bytes per frame, AIM prefix included. Our codes are at most 128 characters; the core
refuses anything over 512, so a longer frame is dropped here and counted instead."""
DEFAULT_INTER_BYTE_TIMEOUT = 0.1
"""Seconds. A 9600-baud scanner sends a byte every ~1 ms; 100 ms of silence mid-frame
means the rest is not coming."""

_STX, _ETX = 0x02, 0x03
# What may appear inside a code: printable ASCII, plus the ISO/IEC 15434 separators
# (FS, GS, RS, EOT) that GS1 and format-06 codes carry. Anything else is noise.
_ALLOWED = bytes(range(0x20, 0x7F)) + bytes((0x1C, 0x1D, 0x1E, 0x04))
_LINE_NOISE_OK = b"\r\n"


def frame_problem(frame: bytes, max_length: int) -> BadRead | None:
    """Why a complete frame cannot be a code (too long, bytes no code has), or None."""
    if len(frame) > max_length:
        return BadRead.TOO_LONG
    if frame.translate(None, _ALLOWED):
        return BadRead.UNREADABLE
    return None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A read that ended but cannot be a code: why, and what was kept of it.

    The scanner sent it as a read and waits for an answer (a host-ACK scanner locks
    until it gets one), so it is handed on, in order with the good frames, rather than
    only counted. ``data`` is empty for over-long frames (their bytes are not kept).
    """

    reason: BadRead
    data: bytes


class Terminator(StrEnum):
    """How a scanner marks the end of a code (STX/ETX also marks the start)."""

    CR = "cr"
    LF = "lf"
    CRLF = "crlf"
    STX_ETX = "stx-etx"


class FrameAssembler:
    """Feed it bytes as they arrive with the monotonic time; it returns complete frames.

    - ``CR``: a frame ends at CR; an LF after it is ignored, so CRLF scanners work too.
    - ``LF``: a frame ends at LF; a CR right before it is dropped.
    - ``CRLF``: a frame ends at CR LF; a bare LF ends a malformed frame.
    - ``STX_ETX``: a frame is what lies between STX and ETX; bytes outside are noise
      (CR/LF between frames excepted), an STX inside a frame restarts it.

    A frame with bytes no scanner sends in a code is counted ``malformed``; one longer
    than ``max_length`` is dropped up to its terminator and counted ``over_long``; a
    partial frame followed by more than ``inter_byte_timeout`` seconds of silence is
    discarded and counted ``partial_discarded``. ``feed_all`` (and ``expire``) hand each
    of those back as a ``Rejected`` read in its place, so that it can be answered.
    Empty frames are ignored. Never raises.
    """

    def __init__(
        self,
        terminator: Terminator | str = Terminator.CR,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_byte_timeout: float = DEFAULT_INTER_BYTE_TIMEOUT,
        counters: DriverCounters | None = None,
    ) -> None:
        try:
            self.terminator = Terminator(terminator)
        except ValueError:
            choices = ", ".join(t.value for t in Terminator)
            raise DriverConfigError(f"unknown terminator {terminator!r} ({choices})") from None
        if max_length < 1:
            raise DriverConfigError("max_length must be at least 1")
        if inter_byte_timeout <= 0:
            raise DriverConfigError("inter_byte_timeout must be positive")
        self.max_length = max_length
        self.inter_byte_timeout = inter_byte_timeout
        self.counters = counters if counters is not None else DriverCounters()
        self._buf = bytearray()
        self._last_at: float | None = None
        self._skipping = False  # inside an over-long frame, already counted
        self._in_frame = False  # STX seen, ETX not yet (STX/ETX mode only)
        self._in_noise = False  # inside a run of stray bytes, already counted
        # Line modes may hold one byte that is stripped at the end (the CR before an LF,
        # or in CR mode the LF after the previous CR), hence +1; the end checks exactly.
        self._limit = max_length + (0 if self.terminator is Terminator.STX_ETX else 1)

    @property
    def deadline(self) -> float | None:
        """When the partial frame being assembled will be discarded, if there is one."""
        if self._last_at is None or not self._has_partial():
            return None
        return self._last_at + self.inter_byte_timeout

    def feed(self, data: bytes, now: float) -> list[bytes]:
        """Add bytes read at monotonic time ``now``; returns the good frames they complete."""
        return [item for item in self.feed_all(data, now) if isinstance(item, bytes)]

    def feed_all(self, data: bytes, now: float) -> list[bytes | Rejected]:
        """Like ``feed``, with the reads that cannot be codes in their place among them."""
        expired = self.expire(now)
        frames: list[bytes | Rejected] = [] if expired is None else [expired]
        if self.terminator is Terminator.STX_ETX:
            self._feed_stx_etx(data, frames)
        else:
            self._feed_lines(data, frames)
        if data:
            self._last_at = now
        return frames

    def expire(self, now: float) -> Rejected | None:
        """Discard a partial frame whose next byte is overdue at ``now``; say so."""
        deadline = self.deadline
        if deadline is not None and now > deadline:
            return self._discard()
        return None

    def reset(self) -> None:
        """Forget the frame in progress (counted as partial), e.g. after a disconnect."""
        self._discard()

    def _discard(self) -> Rejected | None:
        rejected = None
        if self._skipping:
            rejected = Rejected(BadRead.TOO_LONG, b"")
        elif self._has_partial():
            self.counters.partial_discarded += 1
            rejected = Rejected(BadRead.INCOMPLETE, bytes(self._buf))
        self._buf.clear()
        self._skipping = self._in_frame = self._in_noise = False
        return rejected

    def _has_partial(self) -> bool:
        if self._skipping or self._in_frame:
            return True
        # A lone LF left over from a CRLF in CR mode is not the start of a frame.
        return bool(self._buf.strip(_LINE_NOISE_OK))

    def _feed_lines(self, data: bytes, frames: list[bytes | Rejected]) -> None:
        end_byte = b"\r" if self.terminator is Terminator.CR else b"\n"
        pos = 0
        while pos < len(data):
            idx = data.find(end_byte, pos)
            if idx == -1:
                self._append(data[pos:])
                return
            self._append(data[pos:idx])
            self._end_frame(frames)
            pos = idx + 1

    def _feed_stx_etx(self, data: bytes, frames: list[bytes | Rejected]) -> None:
        pos = 0
        while pos < len(data):
            if not self._in_frame:
                idx = data.find(_STX, pos)
                stray = data[pos:] if idx == -1 else data[pos:idx]
                if stray.strip(_LINE_NOISE_OK) and not self._in_noise:
                    self._in_noise = True
                    self.counters.malformed += 1
                    frames.append(Rejected(BadRead.UNREADABLE, stray))
                if idx == -1:
                    return
                self._in_frame, self._in_noise = True, False
                pos = idx + 1
                continue
            etx = data.find(_ETX, pos)
            stx = data.find(_STX, pos)
            if stx != -1 and (etx == -1 or stx < etx):
                # A new start before the end: the frame so far was cut short.
                self._append(data[pos:stx])
                if self._skipping:
                    frames.append(Rejected(BadRead.TOO_LONG, b""))
                else:
                    self.counters.malformed += 1
                    frames.append(Rejected(BadRead.UNREADABLE, bytes(self._buf)))
                self._buf.clear()
                self._skipping = False
                pos = stx + 1
                continue
            if etx == -1:
                self._append(data[pos:])
                return
            self._append(data[pos:etx])
            self._end_frame(frames)
            self._in_frame = False
            pos = etx + 1

    def _append(self, chunk: bytes) -> None:
        if self._skipping or not chunk:
            return
        if len(self._buf) + len(chunk) > self._limit:
            self.counters.over_long += 1
            self._buf.clear()
            self._skipping = True
            return
        self._buf += chunk

    def _end_frame(self, frames: list[bytes | Rejected]) -> None:
        if self._skipping:
            self._skipping = False
            self._buf.clear()
            frames.append(Rejected(BadRead.TOO_LONG, b""))
            return
        frame = bytes(self._buf)
        self._buf.clear()
        if self.terminator is Terminator.CR:
            frame = frame.lstrip(b"\n")
        elif self.terminator is Terminator.LF:
            frame = frame.removesuffix(b"\r")
        elif self.terminator is Terminator.CRLF:
            if not frame.endswith(b"\r"):
                if frame:
                    self.counters.malformed += 1
                    frames.append(Rejected(BadRead.UNREADABLE, frame))
                return
            frame = frame[:-1]
        if not frame:
            return
        problem = frame_problem(frame, self.max_length)
        if problem is None:
            frames.append(frame)
            return
        if problem is BadRead.TOO_LONG:
            self.counters.over_long += 1
            frame = b""
        else:
            self.counters.malformed += 1
        frames.append(Rejected(problem, frame))
