"""`scanctl demo`: the whole door on one machine — backend, gate daemon, simulated scanners, TUI."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import typer

from scanctl.cli.common import CliError
from scanctl.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from scanctl.demo.stack import DemoStack

__all__ = ["demo"]


def demo(
    headless: bool = typer.Option(
        False, "--headless", help="Run without the TUI and print a summary at the end."
    ),
    duration: float = typer.Option(
        30.0, "--duration", min=1, help="With --headless: seconds to let the doors run."
    ),
    tickets: int = typer.Option(20_000, "--tickets", min=100, help="Tickets for the event."),
    time_scale: float = typer.Option(
        20.0, "--time-scale", min=0.1, help="How much faster than real time arrivals come."
    ),
    mode: str = typer.Option(
        "online-first", "--mode", help="The gate's mode: online-first or offline-only."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Keep the temporary directory (databases, logs) afterwards."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --headless: the summary as JSON."),
) -> None:
    """Start the backend (SQLite, fresh secrets), an event of TICKETS tickets, a registered
    device with its manifest, and a gate daemon with four simulated scanners; then open the
    supervisor TUI. `q` or Ctrl+C stops everything and removes the temporary directory.

    The demo's processes get nothing of the calling shell's environment but PATH, HOME,
    TMPDIR and the locale: an exported DATABASE_URL or REDIS_URL is not theirs.

    With --headless, JSON: {"gates", "admitted", "denied", "entered", "exited", "inside",
    "ticketsIn"}.
    """
    from scanctl.client import ClientError
    from scanctl.demo.stack import DemoError, DemoOptions, DemoStack

    if mode not in ("online-first", "offline-only"):
        raise CliError("--mode must be online-first or offline-only", ExitCode.USAGE)
    options = DemoOptions(tickets=tickets, time_scale=time_scale, mode=mode, keep=keep)
    try:
        with DemoStack(options, log=lambda line: typer.echo(line, err=True)) as stack:
            if keep:
                typer.echo(f"demo files in {stack.folder}", err=True)
            if headless:
                _run_headless(stack, duration, as_json)
            else:
                from scanctl.tui import LiveSource, build_app

                build_app(LiveSource(stack.socket_path, box="demo-gate")).run()
    except (DemoError, ClientError) as error:
        raise CliError(f"the demo could not start: {error}", ExitCode.FAILED) from None


def _run_headless(stack: DemoStack, duration: float, as_json: bool) -> None:
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    summary = stack.summary()
    if as_json:
        typer.echo(json.dumps(summary.as_json(), indent=2))
    else:
        for line in summary.lines():
            typer.echo(line)
