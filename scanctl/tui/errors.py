"""The TUI's exceptions, one tree.

TuiError
├── DaemonUnavailable   the socket is missing, refuses, or the connection broke
└── DaemonRefused       the daemon answered, but no (an unknown gate, a bad query)
"""

from __future__ import annotations

__all__ = ["DaemonRefused", "DaemonUnavailable", "TuiError"]


class TuiError(Exception):
    """Something the supervisor should be told about in one line."""


class DaemonUnavailable(TuiError):
    """The daemon cannot be reached right now; the TUI keeps retrying."""


class DaemonRefused(TuiError):
    """The daemon answered with an error; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
