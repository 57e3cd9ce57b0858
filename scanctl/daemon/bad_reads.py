"""A read the lane answered without deciding, as the journal keeps it: hashed, never in clear."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from scanctl.core import BadRead, RawScan

__all__ = ["BadReadEntry"]


@dataclass(frozen=True, slots=True)
class BadReadEntry:
    """One bad read: where and when, why, and a SHA-256 of what was read.

    Why a hash: a refused read may be a real printed ticket (a Code 128 secret on a
    QR-only lane); the journal must not hold such secrets in clear, but support can
    still tell whether the same code keeps failing. Bad reads are not scans: they
    carry no ticket and never go to the backend.
    """

    at_ms: int
    scanner: str
    gate: str
    reason: BadRead
    symbology: str | None
    length: int
    payload_sha256: str

    @classmethod
    def of(cls, raw: RawScan, reason: BadRead, gate: str, at_ms: int) -> BadReadEntry:
        """The entry for one read, its payload reduced to length and hash."""
        digest = hashlib.sha256(raw.payload).hexdigest()
        return cls(at_ms, raw.source, gate, reason, raw.symbology, len(raw.payload), digest)
