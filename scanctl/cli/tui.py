"""`scanctl tui`: the door supervisor's screen on a running gate daemon."""

from __future__ import annotations

from pathlib import Path

import typer

from scanctl.cli.common import CliError
from scanctl.cli.exit_codes import ExitCode

__all__ = ["tui"]


def tui(
    socket: Path | None = typer.Option(
        None, "--socket", help="The daemon's local API socket (default: from --config)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="The gate's TOML file, to find the daemon's socket."
    ),
    replay: Path | None = typer.Option(
        None,
        "--replay",
        help="Show a recorded event stream (JSON lines) instead of a live daemon.",
        exists=True,
        dir_okay=False,
    ),
    venue: Path | None = typer.Option(
        None,
        "--venue",
        help="Follow every gate computer a venue file lists ([[box]] name, socket).",
        exists=True,
        dir_okay=False,
    ),
    box: str | None = typer.Option(
        None, "--box", help="This gate computer's name on screen (default: the host name)."
    ),
) -> None:
    """Open the door supervisor TUI: gates, scan log, alerts and link, keyboard only.

    With --venue, one screen follows several gate daemons: each box's gates as
    gate@box, each box's link state in the top line and on the Link screen.
    It reconnects by itself when a daemon restarts; `q` quits, `?` lists every key.
    """
    # Imported here so that other commands do not pay for Textual at start-up.
    from scanctl.tui import LiveSource, RecordedSource, VenueError, VenueSource, build_app
    from scanctl.tui import load_venue as load
    from scanctl.tui.source import DoorSource

    source: DoorSource
    if venue is not None:
        try:
            source = VenueSource(load(venue))
        except VenueError as error:
            raise CliError(f"{venue}: {error}", ExitCode.USAGE) from None
    elif replay is not None:
        try:
            source = RecordedSource.from_file(replay)
        except (ValueError, KeyError) as error:
            raise CliError(f"{replay}: not a recording ({error})", ExitCode.USAGE) from None
    else:
        source = LiveSource(_socket_for(config, socket), box=box)
    build_app(source).run()


def _socket_for(config: Path | None, socket: Path | None) -> Path:
    if socket is not None:
        return socket
    if config is None:
        raise CliError("give --socket, --config or --venue (or --replay)", ExitCode.USAGE)
    from scanctl.daemon.config import ConfigError, load_settings

    try:
        return load_settings(config).socket_path
    except ConfigError as error:
        raise CliError(f"{config}: {'; '.join(error.problems)}", ExitCode.USAGE) from None
