"""The root `scanctl` Typer app: global options and the registration of every noun."""

from __future__ import annotations

import typer

from scanctl import __version__
from scanctl.cli import lazy_params
from scanctl.cli.common import ScanctlGroup, set_root_context
from scanctl.cli.config_file import complete_context_names
from scanctl.cli.output import OutputFormat, set_output

__all__ = ["app", "main"]

lazy_params.install()  # ~150 ms less on every start; see the module

app = typer.Typer(
    name="scanctl",
    help="Door operations for ticketed events: backend, gate daemon, CLI and supervisor TUI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors (click's): rich's formatting costs ~0.3 s of every
    # `--help`, and a usage error in a script's log reads better as plain lines.
    rich_markup_mode=None,
    # Expected failures of every command become one `Error:` line and an exit code here.
    cls=ScanctlGroup,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"scanctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
    context: str | None = typer.Option(
        None,
        "--context",
        help="Named context for the command that follows (env SCANCTL_CONTEXT).",
        show_default=False,
        autocompletion=complete_context_names,
    ),
    output: OutputFormat | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Tables as table (rich), tsv (tab-separated, untruncated) or auto (default:"
        " a table on a terminal, tsv in a pipe).",
        show_default=False,
        case_sensitive=False,
    ),
) -> None:
    """Door operations for ticketed events."""
    set_root_context(context)
    set_output(output)


# The scanning backend's nouns (issue 3).
from scanctl.cli import catalog as _catalog  # noqa: E402
from scanctl.cli import server as _server  # noqa: E402
from scanctl.cli import token as _token  # noqa: E402

app.add_typer(_server.app, name="server")
app.add_typer(_token.app, name="token")
app.add_typer(_catalog.app, name="catalog")


from scanctl.cli.daemon import daemon_app  # noqa: E402 - registered after the root app
from scanctl.cli.daemon_override import override_app  # noqa: E402

daemon_app.add_typer(override_app, name="override")
app.add_typer(daemon_app, name="daemon")

from scanctl.cli.tui import tui as _tui  # noqa: E402 - the supervisor TUI (issue 8)

app.command("tui")(_tui)


from scanctl.cli.demo import demo as _demo  # noqa: E402 - the one-command demo (issue 8)

app.command("demo")(_demo)


# Venue IT's plumbing (issue 6): contexts, login, policies, completions.
from scanctl.cli import completions as _completions  # noqa: E402
from scanctl.cli import context as _context  # noqa: E402
from scanctl.cli import login as _login  # noqa: E402
from scanctl.cli import policy as _policy  # noqa: E402

app.add_typer(_context.app, name="context")
app.command("login")(_login.login)
app.command("logout")(_login.logout)
app.add_typer(_policy.app, name="policy")
app.add_typer(_completions.app, name="completions")


# Offline operation (issue 5): device identity, manifests, reconciliation.
from scanctl.cli import device as _device  # noqa: E402
from scanctl.cli import manifest as _manifest  # noqa: E402
from scanctl.cli import reconcile as _reconcile  # noqa: E402

app.add_typer(_device.app, name="device")
app.add_typer(_manifest.app, name="manifest")
app.add_typer(_reconcile.app, name="reconcile")


# Online scanning (issue 4): QR codes, scans, the scan log.
from scanctl.cli import qr as _qr  # noqa: E402
from scanctl.cli import scans as _scans  # noqa: E402
from scanctl.cli.scan import scan as _scan  # noqa: E402

app.add_typer(_qr.app, name="qr")
app.command("scan")(_scan)
app.add_typer(_scans.app, name="scans")


# Double entries (issue 14): conflicts found across gates.
from scanctl.cli import conflicts as _conflicts  # noqa: E402

app.add_typer(_conflicts.app, name="conflicts")


# The night's report (issue 19): entry curves, peaks, denials, conflicts, offline periods.
from scanctl.cli.report import report as _report  # noqa: E402

app.command("report")(_report)


def main() -> None:
    """Console entry point."""
    app()
