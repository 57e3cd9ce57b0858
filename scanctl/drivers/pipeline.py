"""From bytes read to RawScans: framing, AIM prefix, the symbology accept-list, counters."""

from __future__ import annotations

from scanctl.core import RawScan
from scanctl.drivers.aim import SymbologyFilter, split_aim
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.framing import (
    DEFAULT_INTER_BYTE_TIMEOUT,
    DEFAULT_MAX_LENGTH,
    FrameAssembler,
    Terminator,
)

__all__ = ["ScanPipeline"]


class ScanPipeline:
    """The pure part every byte-stream driver (serial, TCP, stdin) shares. Never raises."""

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
        """The scans completed by bytes read at monotonic time ``now``."""
        frames = self.assembler.feed(data, now)
        scans = []
        for frame in frames:
            scan = self.frame_to_scan(frame, now)
            if scan is not None:
                scans.append(scan)
        return scans

    def frame_to_scan(self, frame: bytes, now: float) -> RawScan | None:
        """One complete frame to a scan, or None when its symbology is refused."""
        identifier, payload = split_aim(frame)
        if not self.symbologies.accepts(identifier):
            self.counters.refused_symbology += 1
            return None
        if not payload:
            self.counters.malformed += 1
            return None
        self.counters.frames_ok += 1
        return RawScan(payload, identifier, self.source, now)
