"""Times on the command line: every accepted form, and a clear refusal of the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.cli.times import BadMoment, parse_moment, rfc3339

NOW = datetime(2026, 12, 3, 10, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", NOW - timedelta(hours=1)),
        ("30m", NOW - timedelta(minutes=30)),
        ("90s", NOW - timedelta(seconds=90)),
        ("2d", NOW - timedelta(days=2)),
        ("1w", NOW - timedelta(weeks=1)),
        ("1h30m", NOW - timedelta(minutes=90)),
        ("-1h", NOW - timedelta(hours=1)),
        ("1h ago", NOW - timedelta(hours=1)),
        ("+5h", NOW + timedelta(hours=5)),
        ("now", NOW),
        ("2030-06-01T18:00:00Z", datetime(2030, 6, 1, 18, tzinfo=UTC)),
        ("2030-06-01T18:00:00+02:00", datetime(2030, 6, 1, 16, tzinfo=UTC)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_moment(text, now=NOW) == expected


def test_words_are_local_midnights() -> None:
    today = parse_moment("today", now=NOW)
    assert parse_moment("yesterday", now=NOW) == today - timedelta(days=1)
    assert parse_moment("tomorrow", now=NOW) == today + timedelta(days=1)
    local = today.astimezone()
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert today <= NOW < today + timedelta(days=1)


@pytest.mark.parametrize("text", ["lastweek", "1x", "h", "2030-06-01T18:00:00", "", "1.5h"])
def test_other_texts_are_refused_with_the_forms(text: str) -> None:
    with pytest.raises(BadMoment) as raised:
        parse_moment(text, now=NOW)
    assert "time" in str(raised.value)


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339("2030-06-01T18:00:00+02:00") == "2030-06-01T16:00:00Z"
    # Whole seconds, cut (never rounded past the moment): jq's fromdateiso8601 reads it.
    assert rfc3339(datetime(2030, 6, 1, 16, 0, 0, 999000, tzinfo=UTC)) == "2030-06-01T16:00:00Z"
    assert rfc3339(1_900_000_000_000) == "2030-03-17T17:46:40Z"
    assert rfc3339(datetime(2030, 6, 1, 16)) == "2030-06-01T16:00:00Z"  # naive: UTC


@given(st.datetimes(timezones=st.just(UTC)))
def test_rfc3339_parses_back(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_moment(rfc3339(moment), now=NOW) == moment
