"""`scanctl daemon override`: a supervisor overrides what gates do on an expired manifest."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from scanctl.cli.common import CliError, JsonOption, print_json
from scanctl.cli.daemon import SOCKET_OPTION, _get, _request, _socket_for
from scanctl.cli.exit_codes import ExitCode

__all__ = ["override_app", "parse_until"]

override_app = typer.Typer(
    help=(
        "Override, on this box, what gates do once the manifest has expired (the event "
        "policy's stale_manifest): until a time you name, recorded with your name, "
        "journaled and reported to the backend."
    ),
    no_args_is_help=True,
)

CONFIG = typer.Option(None, "--config", "-c", help="The gate's TOML file.")
BY = typer.Option(..., "--by", help="Who decides (your name): recorded with the override.")
NOTE = typer.Option("", "--note", help="Why (recorded with the override).")
UNTIL = typer.Option(
    None,
    "--until",
    help="When it ends: HH:MM (the next such time, local) or an ISO date and time.",
)
FOR = typer.Option(None, "--for", min=1, max=24 * 60, help="How long it lasts, in minutes.")

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """``HH:MM`` as the next such local time, or an ISO 8601 date and time (local if naive)."""
    now = now or datetime.now().astimezone()
    clock = _CLOCK.match(text.strip())
    if clock:
        at = now.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"cannot read {text!r} as a time", ExitCode.USAGE, hint="say 23:30 or 2030-06-01T23:30"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def _until_ms(until: str | None, minutes: int | None) -> int:
    if (until is None) == (minutes is None):
        raise CliError("give exactly one of --until and --for", ExitCode.USAGE)
    if minutes is not None:
        return time.time_ns() // 1_000_000 + minutes * 60_000
    assert until is not None
    return int(parse_until(until).timestamp() * 1000)


def _post(socket: Path, body: dict[str, Any]) -> dict[str, Any]:
    response = _request(socket, "POST", "/override", body)
    answer: dict[str, Any] = response.json()
    if response.status_code == 400:
        raise CliError(f"the daemon refused the override: {answer.get('error')}", ExitCode.USAGE)
    response.raise_for_status()
    return answer


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def _show(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    if view["action"] is None:
        typer.echo(f"override ended by {view['by']}: gates follow the event's policy again")
        return
    typer.echo(
        f"override by {view['by']}: on an expired manifest gates {view['action']} "
        f"until {_clock(view['until_ms'])}" + (f" ({view['note']})" if view["note"] else "")
    )


def _apply(config: Path | None, socket: Path | None, body: dict[str, Any], as_json: bool) -> None:
    _show(_post(_socket_for(config, socket), body), as_json)


def _timed(action: str, doc: str) -> Callable[..., None]:
    """The command that sets ``action`` until --until or for --for minutes (two share it)."""

    def command(
        by: str = BY,
        until: str | None = UNTIL,
        minutes: int | None = FOR,
        note: str = NOTE,
        config: Path | None = CONFIG,
        socket: Path | None = SOCKET_OPTION,
        as_json: JsonOption = False,
    ) -> None:
        body = {"action": action, "until_ms": _until_ms(until, minutes), "by": by, "note": note}
        _apply(config, socket, body, as_json)

    command.__doc__ = doc
    return command


override_app.command("admit-with-warning")(
    _timed(
        "admit-with-warning",
        """Admit on an expired manifest, each admission with a warning (its own beep), until
    --until or for --for minutes.

    JSON: the override (id, action, until_ms, by, at_ms, note, in_force, sent).
    """,
    )
)
override_app.command("deny")(
    _timed(
        "deny",
        """Deny every ticket on an expired manifest (MANIFEST_STALE) until --until or for
    --for minutes, whatever the policy says.

    JSON: the override, as for admit-with-warning.
    """,
    )
)


@override_app.command("extend")
def extend(
    minutes: int = typer.Argument(..., min=1, max=24 * 60, help="Minutes past the manifest's end."),
    by: str = BY,
    note: str = NOTE,
    config: Path | None = CONFIG,
    socket: Path | None = SOCKET_OPTION,
    as_json: JsonOption = False,
) -> None:
    """Extend the manifest's validity by MINUTES: admissions on it then carry a warning
    (it is past what the backend signed) until its end plus MINUTES.

    JSON: the override, as for admit-with-warning.
    """
    _apply(config, socket, {"extend_minutes": minutes, "by": by, "note": note}, as_json)


@override_app.command("clear")
def clear(
    by: str = BY,
    note: str = NOTE,
    config: Path | None = CONFIG,
    socket: Path | None = SOCKET_OPTION,
    as_json: JsonOption = False,
) -> None:
    """End the override in force: gates follow the event's policy again.

    JSON: the ending record (action null).
    """
    _apply(config, socket, {"action": None, "by": by, "note": note}, as_json)


@override_app.command("list")
def list_overrides(
    config: Path | None = CONFIG,
    socket: Path | None = SOCKET_OPTION,
    as_json: JsonOption = False,
) -> None:
    """The overrides made on this box, newest first, and whether each reached the backend.

    JSON: {"overrides": [the override, ...]}.
    """
    answer = _get(_socket_for(config, socket), "/overrides")
    if as_json:
        print_json(answer)
        return
    for view in answer["overrides"]:
        state = "in force" if view.get("in_force") else "over"
        typer.echo(
            f"{_clock(view['at_ms'])}  {view['by']}: {view['action'] or 'ended'}"
            + (f" until {_clock(view['until_ms'])}" if view["action"] else "")
            + f"  [{state}, {'reported' if view['sent'] else 'not yet reported'}]"
        )
