"""The CLI's one JSON contract, applied at the edge: camelCase keys, RFC 3339 UTC times.

Some of what the CLI prints does not come from the API: the manifest store's summary
and the gate daemon's local API speak snake_case with times in epoch milliseconds, and
the API itself sends times with microseconds and ``+00:00`` in places. Rather than
change those producers (the daemon's local API has its own clients: the TUI), every
``--json`` document that carries them goes through `to_contract` once:

- ``snake_case`` keys become ``camelCase`` (``event_id`` → ``eventId``); keys that
  are data rather than names (reason codes, ticket statuses, gate names) are kept:
  only lower-case identifiers with an underscore are renamed;
- epoch-millisecond times lose their unit and become RFC 3339 (``issued_at_ms`` →
  ``issuedAt``, ``last_sync_ms`` → ``lastSyncAt``); durations keep theirs
  (``age_ms`` → ``ageMs``, ``uptime_s`` → ``uptimeSeconds``);
- every time, whatever its source, is written ``2030-06-01T18:00:00Z``: UTC, whole
  seconds, ``Z`` — what jq's ``fromdateiso8601`` reads.
"""

from __future__ import annotations

import re
from typing import Any

from scanctl.cli.times import rfc3339

__all__ = ["camel", "is_time_key", "times_only", "to_contract"]

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_TIME_SUFFIXES = ("At", "Until", "From")
# Epoch-ms keys whose name, once "_ms" is gone, does not already say it is a moment.
_MOMENT_MS = {"last_contact_ms": "lastContactAt", "last_sync_ms": "lastSyncAt"}


def camel(key: str) -> str:
    """``event_id`` → ``eventId``; anything that is not a snake_case name is kept."""
    if not _SNAKE.match(key):
        return key
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def is_time_key(key: str) -> bool:
    """Whether a camelCase key names a moment (``createdAt``, ``validUntil``, ``at``)."""
    return key == "at" or key.endswith(_TIME_SUFFIXES)


def _moment_key(key: str) -> str | None:
    """The contract's name for an epoch-ms key (``issued_at_ms`` → ``issuedAt``), else None."""
    if key in _MOMENT_MS:
        return _MOMENT_MS[key]
    if key.endswith("_ms"):
        name = camel(key[: -len("_ms")]) if "_" in key[: -len("_ms")] else key[: -len("_ms")]
        if is_time_key(name):
            return name
    return None


def _time(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | str):
        try:
            return rfc3339(value)
        except ValueError:
            return value
    return value


def times_only(data: Any) -> Any:
    """``data`` with its times in the contract's format and every key as it is.

    For answers whose keys are a contract of their own: a policy's keys are the names of
    `scanctl.core.Policy` fields (``duplicate_window_seconds``) in the API too.
    """
    if isinstance(data, list):
        return [times_only(item) for item in data]
    if not isinstance(data, dict):
        return data
    return {
        key: _time(value)
        if isinstance(key, str) and is_time_key(key) and isinstance(value, str | int | float)
        else times_only(value)
        for key, value in data.items()
    }


def to_contract(data: Any) -> Any:
    """``data`` with the contract's key names and time format, recursively."""
    if isinstance(data, list):
        return [to_contract(item) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            out[key] = to_contract(value)
            continue
        moment = _moment_key(key)
        if moment is not None:
            out[moment] = _time(value)
            continue
        name = camel(key[: -len("_s")]) + "Seconds" if key.endswith("_s") else camel(key)
        if is_time_key(name) and isinstance(value, str | int | float):
            out[name] = _time(value)
        else:
            out[name] = to_contract(value)
    return out
