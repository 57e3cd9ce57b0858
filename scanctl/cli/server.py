"""`scanctl server …`: run the scanning backend, migrate its database, check its settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from scanctl.cli.common import CliError, JsonOption, print_json
from scanctl.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from scanctl.backend.settings import Settings

# The backend (FastAPI, SQLAlchemy, pydantic-settings) is imported inside the commands:
# the CLI's start must not pay for it (every TAB of completion starts `scanctl`).

__all__ = ["app"]

app = typer.Typer(
    name="server",
    help="Run the scanning backend (FastAPI on uvicorn) and manage its database.",
    no_args_is_help=True,
)

ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    help="TOML file of settings (lower-case names); the environment overrides it.",
    exists=False,
    dir_okay=False,
)


def _settings(config: Path | None, **overrides: Any) -> Settings:
    from scanctl.backend.errors import ConfigError
    from scanctl.backend.settings import load_settings

    try:
        return load_settings(config, overrides=overrides)
    except ConfigError as exc:
        _refuse(exc.problems)


def _refuse(problems: list[str]) -> NoReturn:
    """Every problem at once, one per line, under the usual `Error:` line; exit 2."""
    typer.echo("Error: the configuration cannot be used:", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    typer.echo(
        "Hint: settings come from the environment or --config FILE (README: Settings)", err=True
    )
    raise typer.Exit(ExitCode.USAGE)


_LOG_LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}


@app.command("run")
def run(
    host: str | None = typer.Option(None, "--host", help="Interface to listen on [HOST]."),
    port: int | None = typer.Option(None, "--port", help="TCP port [PORT, default 3009]."),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the API until SIGTERM or Ctrl+C, then drain in-flight requests and exit 0.

    Settings are validated first: every missing or weak one is listed on stderr and the
    command exits 2 before binding a port. So is a PostgreSQL role that row-level
    security would not hold (a superuser, BYPASSRLS, an owner of the tables); a database
    that cannot be reached exits 3.
    """
    settings = _settings(config, host=host, port=port)
    from scanctl.logs import configure

    configure(_LOG_LEVELS[settings.log_level], settings.log_format)
    _check_database_dir(settings.effective_database_url)
    _check_port(settings.host, settings.port)
    from scanctl.backend.server import DatabaseUnreachable, database_problems, serve

    try:
        problems = database_problems(settings)
    except DatabaseUnreachable as exc:
        raise CliError(f"cannot reach the database: {exc}", ExitCode.UNREACHABLE) from None
    if problems:
        _refuse(problems)

    try:
        started = serve(settings)
    except SystemExit:  # uvicorn's own exit when it cannot bind after all (a race)
        started = False
    if not started:
        raise CliError(
            f"the server did not start on {settings.host}:{settings.port} (see the log above)",
            ExitCode.FAILED,
        )


def _check_database_dir(database_url: str) -> None:
    """A SQLite file's directory must exist or be creatable: one line, not a traceback."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    directory = Path(url.database).expanduser().parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(
            f"cannot create the data directory {directory}: {exc.strerror or exc}",
            ExitCode.USAGE,
            hint="set SCANCTL_DATA_DIR (or DATABASE_URL) to a directory this user may write",
        ) from None


def _check_port(host: str, port: int) -> None:
    """Say "port in use" before the app starts, rather than after uvicorn logged it.

    A configuration problem (exit 2): another process holds the port, or the host is
    not an address of this machine. uvicorn still binds for real afterwards; the probe
    only makes the common mistake one clear line.
    """
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise CliError(f"cannot listen on {host!r}: {exc}", ExitCode.USAGE) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {host} is already in use",
                    ExitCode.USAGE,
                    hint="stop what listens there, or choose another --port (or PORT)",
                ) from None
            raise CliError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}", ExitCode.USAGE
            ) from None


@app.command("migrate")
def migrate(
    config: Path | None = ConfigOption,
    revision: str = typer.Option("head", "--revision", help="Target revision."),
    down: bool = typer.Option(False, "--down", help="Migrate down to --revision (e.g. base)."),
    as_json: JsonOption = False,
) -> None:
    """Apply the database migrations (SQLite migrates itself at start; PostgreSQL does not).

    JSON: {"revision": the revision now, or null at base}.
    """
    settings = _settings(config)
    from scanctl.backend.db import create_database, downgrade, upgrade
    from scanctl.backend.db.migrate import current_revision

    database = create_database(settings.effective_database_url)
    try:
        (downgrade if down else upgrade)(database.engine, revision)
        now = current_revision(database.engine)
    finally:
        database.close()
    if as_json:
        print_json({"revision": now})
    else:
        typer.echo(f"database at revision {now or 'base'}")


@app.command("check-config")
def check_config(config: Path | None = ConfigOption, as_json: JsonOption = False) -> None:
    """Validate the settings and print them (secrets masked, and every password inside a
    URL or DSN); exit 2 when unusable.

    JSON: {"SETTING_NAME": value, …, "EFFECTIVE_DATABASE_URL"} (secrets masked).
    """
    settings = _settings(config)
    from scanctl.backend.masking import masked_settings

    values = masked_settings(settings, {"EFFECTIVE_DATABASE_URL": settings.effective_database_url})
    if settings.database_url:
        del values["DATABASE_URL"]  # the effective one, below, is the same
    if as_json:
        print_json(values)
        return
    for name, value in values.items():
        typer.echo(f"{name}={value}")
