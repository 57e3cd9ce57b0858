"""The documented exit statuses of every `scanctl` command.

Failures become these codes in one place, `scanctl.cli.common.exit_code_for`; the
README ("Command line") and docs/cli.md list them for people.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a script can rely on after running `scanctl`."""

    OK = 0
    """Done."""
    FAILED = 1
    """A scan was denied, reconciliation found conflicts, a check failed, or you answered no."""
    USAGE = 2
    """Bad arguments or configuration: weak secrets, an unknown context, an invalid policy,
    arguments the backend refused (400/422), a URL without http(s)://, a question with no
    terminal to answer it (pass --yes), a port in use, an uncreatable data directory."""
    UNREACHABLE = 3
    """The backend or the device could not be reached."""
    NOT_AUTHORIZED = 4
    """The token is missing, expired or refused, or may not act on that venue."""
    INTERRUPTED = 130
    """Stopped by Ctrl+C."""
