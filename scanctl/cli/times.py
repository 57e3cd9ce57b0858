"""Moments on the command line: what `--since 1h` means, and how times are printed in JSON.

Every option that takes a time accepts the same forms, so a script never has to call
GNU ``date`` to compute one:

- RFC 3339 / ISO 8601 with a zone: ``2030-06-01T18:00:00Z``, ``…+02:00``. A time without a
  zone is refused: whose evening would it be?
- Durations before now, as kubectl and journalctl take them: ``90s``, ``30m``, ``1h``,
  ``2d``, ``1w``, combined (``1h30m``); ``-1h`` and ``1h ago`` say the same.
- Durations after now: ``+5h`` (an event that ends in five hours).
- Words: ``now``, ``today``, ``yesterday``, ``tomorrow`` (midnight, local time).

JSON output carries every timestamp as RFC 3339 in UTC with ``Z``, whole seconds
(`rfc3339`): what jq's ``fromdateiso8601`` reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "TIME_FORMS",
    "BadMoment",
    "moment_option",
    "parse_moment",
    "rfc3339",
    "rfc3339_or_none",
]

TIME_FORMS = "RFC 3339 (2030-06-01T18:00:00Z), 1h / 30m / 2d ago, +5h, today, yesterday"
"""The accepted forms in a few words, for help texts and error hints."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(?:(\d+)([smhdw]))+$")
_PART = re.compile(r"(\d+)([smhdw])")


class BadMoment(ValueError):
    """A text that is none of the accepted forms (the message says which forms are)."""


def _duration(text: str) -> timedelta | None:
    if not _DURATION.match(text):
        return None
    return timedelta(seconds=sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(text)))


def _local_midnight(now: datetime, days: int) -> datetime:
    local = now.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return midnight.astimezone(UTC)


def parse_moment(text: str, *, now: datetime | None = None) -> datetime:
    """The moment ``text`` names, as an aware UTC datetime; `BadMoment` when it names none."""
    now = (now or datetime.now(tz=UTC)).astimezone(UTC)
    value = text.strip().lower()
    words = {"now": 0, "today": None, "yesterday": -1, "tomorrow": 1}
    if value in words:
        days = words[value]
        if value == "now":
            return now
        return _local_midnight(now, days or 0)
    sign = -1
    if value.endswith(" ago"):
        value = value[: -len(" ago")].strip()
    elif value.startswith("+"):
        sign, value = 1, value[1:]
    elif value.startswith("-"):
        value = value[1:]
    delta = _duration(value.replace(" ", ""))
    if delta is not None:
        return now + sign * delta
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise BadMoment(f"{text!r} is not a time; use {TIME_FORMS}") from None
    if parsed.tzinfo is None:
        raise BadMoment(f"{text!r} has no time zone; add Z (UTC) or an offset such as +02:00")
    return parsed.astimezone(UTC)


def rfc3339(moment: datetime | str | int | float) -> str:
    """RFC 3339 in UTC with ``Z``, whole seconds (``2030-06-01T16:00:00Z``).

    Whole seconds because that is what jq's ``fromdateiso8601`` (and many other
    parsers of "ISO dates") read; the fraction is cut, not rounded, so a time never
    moves past the moment it names. Accepts what the API and the daemon send: aware
    datetimes, ISO texts with any offset, or milliseconds since the epoch (numbers).
    """
    if isinstance(moment, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment / 1000, tz=UTC)
    elif isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("z", "Z"))
    if moment.tzinfo is None:  # naive times from our own stores are UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def rfc3339_or_none(moment: Any) -> str | None:
    """`rfc3339` for a value that may be missing (None stays None)."""
    return None if moment is None else rfc3339(moment)


def moment_option(flag: str) -> Callable[[str | None], str | None]:
    """A Typer callback: the option's text as RFC 3339 UTC, or a usage error (exit 2)."""
    import typer

    def convert(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return rfc3339(parse_moment(value))
        except BadMoment as exc:
            raise typer.BadParameter(str(exc), param_hint=flag) from None

    return convert
