"""The documented exit statuses of every `scanctl` command."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a script can rely on after running `scanctl`."""

    OK = 0
    """Done."""
    FAILED = 1
    """A scan was denied, reconciliation found conflicts, or a check failed."""
    USAGE = 2
    """Bad arguments or bad configuration (missing or weak secrets, say)."""
    UNREACHABLE = 3
    """The backend or the device could not be reached."""
    NOT_AUTHORIZED = 4
    """The credentials were refused or may not do this."""
    INTERRUPTED = 130
    """Stopped by Ctrl+C."""
