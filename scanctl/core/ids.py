"""Scan ids: UUIDv7, so ids sort by the time they were made and never collide.

The backend and the gate daemon name scans the same way (both decide scans).
"""

from __future__ import annotations

import os
import time

__all__ = ["uuid7"]


def uuid7(now_ms: int | None = None) -> str:
    """A version 7 UUID (RFC 9562): 48 bits of ms timestamp, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10)) & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    text = f"{value:032x}"  # formatted by hand: uuid.UUID() costs more than the rest
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
