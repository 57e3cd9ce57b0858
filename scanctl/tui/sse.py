"""A server-sent-events parser for the daemon's ``/events`` stream (pure, line by line)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SseParser"]


class SseParser:
    """Feed it lines (without their newline); it returns each complete event's JSON.

    Comment lines (``: heartbeat``) are ignored, ``data:`` lines of one event are joined
    with newlines, a blank line ends the event. A payload that is not a JSON object is
    dropped: a broken event must not stop the stream.
    """

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> dict[str, Any] | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def _dispatch(self) -> dict[str, Any] | None:
        if not self._data:
            return None
        payload = "\n".join(self._data)
        self._data = []
        try:
            event = json.loads(payload)
        except ValueError:
            return None
        return event if isinstance(event, dict) else None
