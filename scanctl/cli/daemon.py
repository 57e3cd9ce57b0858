"""`scanctl daemon`: run the gate daemon, ask it how it is, stop it."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from scanctl.cli.common import CliError, JsonOption, print_json
from scanctl.cli.contract import to_contract
from scanctl.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    import httpx

# The daemon's stack (drivers, journal, manifests, the async client) is imported by the
# commands that use it, not at the CLI's start.

__all__ = ["daemon_app"]

daemon_app = typer.Typer(
    help="Run the gate daemon and talk to a running one.", no_args_is_help=True
)

CONFIG_OPTION = typer.Option(..., "--config", "-c", help="The gate's TOML configuration file.")
SOCKET_OPTION = typer.Option(
    None, "--socket", help="The daemon's local API socket (default: from --config)."
)


@daemon_app.command("run")
def run(
    config: Path = CONFIG_OPTION,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every decision."),
) -> None:
    """Run the gate daemon in the foreground until SIGTERM or Ctrl+C (then drain and exit 0).

    The log goes to stderr in the gate.toml's log_format; -v adds a line per decision
    (and the cause of each INVALID), at debug level.
    """
    import asyncio

    from scanctl.cli.device import warn_if_environment_overrides
    from scanctl.daemon.config import ConfigError, load_settings
    from scanctl.daemon.driver_factory import UnsupportedDriver
    from scanctl.daemon.identity import DeviceIdentity, IdentityError
    from scanctl.daemon.runner import Daemon, DaemonError
    from scanctl.logs import configure

    try:
        settings = load_settings(config)
    except ConfigError as error:
        raise CliError(f"{config}: {'; '.join(error.problems)}", ExitCode.USAGE) from None
    warn_if_environment_overrides(config)  # never silently: the backend's has that name too
    configure(logging.DEBUG if verbose else logging.INFO, settings.log_format)
    try:
        daemon = Daemon(settings, DeviceIdentity.load(settings.data_dir))
        daemon.open()
    except (IdentityError, DaemonError, UnsupportedDriver) as error:
        raise CliError(str(error), ExitCode.USAGE) from None
    asyncio.run(daemon.run())
    if daemon.failure is not None:
        raise CliError(daemon.failure, ExitCode.USAGE)


def _socket_for(config: Path | None, socket: Path | None) -> Path:
    if socket is not None:
        return socket
    if config is None:
        raise CliError("give --config or --socket", ExitCode.USAGE)
    from scanctl.daemon.config import ConfigError, load_settings

    try:
        return load_settings(config).socket_path
    except ConfigError as error:
        raise CliError(f"{config}: {error.problems[0]}", ExitCode.USAGE) from None


def _get(socket: Path, path: str) -> dict[str, Any]:
    response = _request(socket, "GET", path)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _request(
    socket: Path, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """One call to the daemon's local API; no daemon there is exit 3 with a hint."""
    import httpx  # here, not at the top: `scanctl --help` must not pay for it

    transport = httpx.HTTPTransport(uds=str(socket))
    try:
        with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as client:
            return client.request(method, path, json=body)
    except (httpx.TransportError, OSError) as error:
        raise CliError(
            f"no daemon answers on {socket} ({error})",
            ExitCode.UNREACHABLE,
            hint="is `scanctl daemon run` running with this gate.toml?",
        ) from None


@daemon_app.command("status")
def status(
    config: Path | None = typer.Option(None, "--config", "-c", help="The gate's TOML file."),
    socket: Path | None = SOCKET_OPTION,
    as_json: JsonOption = False,
) -> None:
    """Show a running daemon's state, manifest, journal and gates.

    JSON: the daemon's /status answer with its "gates" added; "conflicts" counts the
    double entries reported to this gate ({"open", "acknowledged"}); "mesh" (null
    without a [mesh] table) is the gate mesh: {"listen", "discovery", "peersUp",
    "peers": [{"name", "deviceId", "address", "foundBy", "state" (up, down, unknown),
    "lastHeardAt", "lagRecords", "behindUs"}], "records": {"own", "peers"},
    "refused": {reason: count}, "propagationMs": {"p50", "p99", "samples"}}.
    """
    path = _socket_for(config, socket)
    report = _get(path, "/status")
    report["gates"] = _get(path, "/gates")["gates"]
    if as_json:
        print_json(to_contract(report))
        return
    manifest = report["manifest"]
    typer.echo(f"daemon {report['state']} (pid {report['pid']}), event {report['event_id']}")
    typer.echo(
        f"manifest: sequence {manifest.get('sequence')}, {manifest.get('tickets')} tickets,"
        f" {'STALE' if manifest.get('stale') else 'valid'}{_valid_until(manifest)}"
    )
    override = report.get("override")
    if override is not None and override.get("in_force"):
        typer.echo(
            f"override: on an expired manifest gates {override['action']} until"
            f" {_clock(override['until_ms'])} (by {override['by']} at {_clock(override['at_ms'])})"
        )
    journal = report["journal"]
    typer.echo(f"journal: {journal['scans']} scans, {journal['unsent']} not yet synced")
    conflicts = report.get("conflicts") or {}
    if conflicts:
        typer.echo(
            f"conflicts: {conflicts.get('open', 0)} open,"
            f" {conflicts.get('acknowledged', 0)} acknowledged"
        )
    mesh = report.get("mesh")
    if mesh:
        _echo_mesh(mesh)
    for gate in report["gates"]:
        flag = " (paused)" if gate["paused"] else ""
        typer.echo(
            f"gate {gate['gate']}{flag}: {gate['admitted']} admitted, {gate['denied']} denied,"
            f" {gate['per_minute_now']}/min"
        )


def _echo_mesh(mesh: dict[str, Any]) -> None:
    """The gate mesh in a few lines: where it listens, and each peer's link and lag."""
    peers = mesh["peers"]
    refused = sum(mesh["refused"].values())
    typer.echo(
        f"mesh: listening on {mesh['listen']} ({mesh['discovery']}),"
        f" {mesh['peers_up']} of {len(peers)} peers up, {mesh['records']['peers']} peer"
        f" admissions held{f', {refused} datagrams refused' if refused else ''}"
    )
    for peer in peers:
        heard = peer["last_heard_at_ms"]
        lag = peer["lag_records"]
        typer.echo(
            f"  peer {peer['name'] or peer['device_id'] or '?'} ({peer['address']}):"
            f" {peer['state'].upper() if peer['state'] == 'down' else peer['state']}"
            + (
                ""
                if heard is None
                else f", last heard {time.strftime('%H:%M:%S', time.localtime(heard / 1000))}"
            )
            + ("" if lag is None else f", {lag} admissions behind")
        )


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def _valid_until(manifest: dict[str, Any]) -> str:
    until = manifest.get("valid_until_ms")
    return "" if until is None else f" until {_clock(until)}"


@daemon_app.command("stop")
def stop(
    config: Path | None = typer.Option(None, "--config", "-c", help="The gate's TOML file."),
    socket: Path | None = SOCKET_OPTION,
) -> None:
    """Ask a running daemon to drain and exit (SIGTERM to the pid it reports)."""
    pid = int(_get(_socket_for(config, socket), "/status")["pid"])
    os.kill(pid, signal.SIGTERM)
    typer.echo(f"sent SIGTERM to daemon pid {pid}")
