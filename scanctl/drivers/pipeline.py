"""From bytes read to RawScans: framing, AIM prefix, the symbology accept-list, counters."""

from __future__ import annotations

from scanctl.core import BadRead, RawScan
from scanctl.drivers.aim import SymbologyFilter, split_aim
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.framing import (
    DEFAULT_INTER_BYTE_TIMEOUT,
    DEFAULT_MAX_LENGTH,
    FrameAssembler,
    Rejected,
    Terminator,
    frame_problem,
)

__all__ = ["ScanPipeline"]


class ScanPipeline:
    """The pure part every byte-stream driver (serial, TCP, stdin) shares. Never raises.

    Every read the scanner ends becomes a RawScan: a code to decide, or, with
    ``bad_read`` set, one to answer with a bad-read feedback (noise, cut short, too
    long, a refused symbology). Nothing a scanner sends disappears without an answer.
    """

    def __init__(
        self,
        source: str,
        *,
        terminator: Terminator | str = Terminator.CR,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_byte_timeout: float = DEFAULT_INTER_BYTE_TIMEOUT,
        symbologies: SymbologyFilter | None = None,
        counters: DriverCounters | None = None,
    ) -> None:
        self.source = source
        self.counters = counters if counters is not None else DriverCounters()
        self.symbologies = symbologies if symbologies is not None else SymbologyFilter()
        self.assembler = FrameAssembler(
            terminator,
            max_length=max_length,
            inter_byte_timeout=inter_byte_timeout,
            counters=self.counters,
        )

    def feed(self, data: bytes, now: float) -> list[RawScan]:
        """The reads completed by bytes read at monotonic time ``now``, in order."""
        return [self.scan_of(item, now) for item in self.assembler.feed_all(data, now)]

    def expire(self, now: float) -> list[RawScan]:
        """The read cut short by the inter-byte timeout at ``now``, if any."""
        rejected = self.assembler.expire(now)
        return [] if rejected is None else [self.scan_of(rejected, now)]

    def complete_frame(self, frame: bytes, now: float) -> RawScan:
        """A frame that arrived whole by other means (an SSI packet): checked, then scanned."""
        problem = frame_problem(frame, self.assembler.max_length)
        if problem is BadRead.TOO_LONG:
            self.counters.over_long += 1
            return self.bad_read(problem, b"", None, now)
        if problem is not None:
            self.counters.malformed += 1
            return self.bad_read(problem, frame, None, now)
        return self.frame_to_scan(frame, now)

    def frame_to_scan(self, frame: bytes, now: float) -> RawScan:
        """One complete frame to a scan; a bad read when empty or its symbology is refused."""
        identifier, payload = split_aim(frame)
        if not self.symbologies.accepts(identifier):
            self.counters.refused_symbology += 1
            return self.bad_read(BadRead.SYMBOLOGY_NOT_ACCEPTED, payload, identifier, now)
        if not payload:
            self.counters.malformed += 1
            return self.bad_read(BadRead.UNREADABLE, payload, identifier, now)
        self.counters.frames_ok += 1
        return RawScan(payload, identifier, self.source, now)

    def bad_read(
        self, reason: BadRead, payload: bytes, identifier: str | None, now: float
    ) -> RawScan:
        """A read to be answered, not decided."""
        return RawScan(payload, identifier, self.source, now, reason)

    def scan_of(self, item: bytes | Rejected, now: float) -> RawScan:
        """A frame, or a read rejected on the way, as the RawScan the lane gets."""
        if isinstance(item, Rejected):
            return self.bad_read(item.reason, item.data, None, now)
        return self.frame_to_scan(item, now)
