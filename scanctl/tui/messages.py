"""What a source tells the app: Textual ``Message`` dataclasses, posted from a worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from textual.message import Message

__all__ = ["DaemonEvents", "DaemonSnapshot", "LinkState", "LinkUpdate"]


class LinkState(StrEnum):
    """The TUI's connection to the daemon (not the daemon's to the backend)."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    RECORDED = "recorded"
    """Not a daemon at all: a recording is being shown."""


@dataclass
class LinkUpdate(Message):
    """The connection to the daemon changed; ``retry_in_s`` is set while backing off."""

    state: LinkState
    detail: str = ""
    attempt: int = 0
    retry_in_s: float | None = None


@dataclass
class DaemonSnapshot(Message):
    """A full read of ``/status``, ``/gates``, ``/alerts`` and ``/conflicts``: it replaces
    what is shown.

    Only the newest snapshot matters, so a queued one is replaced by a later one.
    """

    status: dict[str, Any]
    gates: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    recent: list[dict[str, Any]] | None = None
    """The latest ``/scans`` rows, newest first, when (re)connecting; None otherwise."""
    conflicts: list[dict[str, Any]] | None = None
    """``/conflicts``: the double entries reported to this gate (None: not read)."""

    def can_replace(self, message: Message) -> bool:
        # Textual asks the queued message whether a later one (``message``) supersedes
        # it: a newer snapshot does, unless only this one carries the log rows.
        return isinstance(message, DaemonSnapshot) and (
            self.recent is None or message.recent is not None
        )


@dataclass
class DaemonEvents(Message):
    """Events from ``/events``, coalesced: at most a few batches a second however fast
    they come. ``oldest_at`` is the ``time.monotonic()`` at which the batch's first event
    was received, so the app can say how far behind the screen is."""

    events: list[dict[str, Any]]
    oldest_at: float = 0.0
    received: int = field(default=0)
