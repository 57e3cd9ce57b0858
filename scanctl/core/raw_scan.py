"""What a scanner driver hands to the daemon: bytes as read, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RawScan"]


@dataclass(frozen=True, slots=True)
class RawScan:
    """One read from one scanner.

    ``symbology`` is the AIM identifier when the scanner sent one (``]Q1`` for QR),
    ``source`` the scanner's configured name, and ``received_at_monotonic`` the
    ``time.monotonic()`` reading when the last byte arrived.
    """

    payload: bytes
    symbology: str | None
    source: str
    received_at_monotonic: float
