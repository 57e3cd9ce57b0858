"""Time as the backend sees it: integer ms since the epoch, injectable for tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "datetime_to_ms", "ms_to_datetime", "system_clock"]

Clock = Callable[[], int]
"""Returns the current time in ms since the epoch."""


def system_clock() -> int:
    """The wall clock, in ms since the epoch."""
    return time.time_ns() // 1_000_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def datetime_to_ms(value: datetime) -> int:
    """An aware datetime as ms since the epoch (sub-millisecond parts are dropped)."""
    if value.tzinfo is None:
        raise ValueError("datetime without a timezone")
    return (value - _EPOCH) // _MS  # integer arithmetic: no float rounding


def ms_to_datetime(value: int) -> datetime:
    """ms since the epoch as an aware UTC datetime (ISO 8601 with `Z` in JSON)."""
    return _EPOCH + value * _MS
