"""UUIDv7 scan ids: time-ordered, so ids sort like the scans they name."""

from __future__ import annotations

import os
import uuid

__all__ = ["uuid7"]


def uuid7(now_ms: int) -> str:
    """A version-7 UUID (RFC 9562) for the given ms timestamp, 74 random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (now_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    return str(uuid.UUID(int=value))
