"""What a scanner driver hands to the daemon: bytes as read, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass

from scanctl.core.bad_reads import BadRead

__all__ = ["RawScan"]


@dataclass(frozen=True, slots=True)
class RawScan:
    """One read from one scanner.

    ``symbology`` is the AIM identifier when the scanner sent one (``]Q1`` for QR),
    ``source`` the scanner's configured name, and ``received_at_monotonic`` the
    ``time.monotonic()`` reading when the last byte arrived.

    ``bad_read`` is set when the frame cannot be decided at all (noise, cut short, too
    long, a refused symbology): the lane then answers it at once with a bad-read
    feedback instead of deciding it. ``payload`` then holds what was read of it.
    """

    payload: bytes
    symbology: str | None
    source: str
    received_at_monotonic: float
    bad_read: BadRead | None = None
