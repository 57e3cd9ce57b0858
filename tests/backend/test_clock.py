"""Database times are integer ms since the epoch; conversions are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.clock import datetime_to_ms, ms_to_datetime, system_clock

MS_RANGE = st.integers(
    min_value=86_400_000, max_value=253_402_128_000_000
)  # 1970 .. 9999, a day inside


@given(MS_RANGE)
def test_round_trip(ms: int) -> None:
    assert datetime_to_ms(ms_to_datetime(ms)) == ms


@given(MS_RANGE, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_offsets_do_not_matter(ms: int, offset_minutes: int) -> None:
    moment = ms_to_datetime(ms).astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert datetime_to_ms(moment) == ms


def test_exact_milliseconds() -> None:
    value = datetime(2030, 6, 1, 18, 0, 0, 1000, tzinfo=UTC)
    assert datetime_to_ms(value) % 1000 == 1
    assert ms_to_datetime(0).isoformat() == "1970-01-01T00:00:00+00:00"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        datetime_to_ms(datetime(2030, 1, 1))


def test_system_clock_is_ms() -> None:
    assert 1_700_000_000_000 < system_clock() < 10_000_000_000_000
