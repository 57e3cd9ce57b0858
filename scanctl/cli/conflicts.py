"""`scanctl conflicts list`: an event's double entries, with their evidence (managers)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scanctl.cli.common import (
    ContextOption,
    JsonOption,
    TokenOption,
    UrlOption,
    backend_client,
    print_json,
    print_table,
    resolve,
)
from scanctl.cli.exit_codes import ExitCode

__all__ = ["app"]

app = typer.Typer(
    help="Double entries: one ticket admitted more often than it may be.", no_args_is_help=True
)


def _admissions(conflict: dict[str, Any]) -> str:
    """'north 19:00:00 (first), south 19:01:00' — gates and times, the first named."""
    parts = []
    for admission in conflict.get("admissions") or []:
        at = str(admission.get("scannedAt") or "")
        time_of_day = at[11:19] if len(at) >= 19 else at
        where = admission.get("gate") or str(admission.get("deviceId", ""))[:8]
        parts.append(f"{where} {time_of_day}" + (" (first)" if admission.get("first") else ""))
    return ", ".join(parts)


@app.command("list")
def list_conflicts(
    event: Annotated[
        str | None,
        typer.Option("--event", help="The event (default: the context's)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only conflicts known at or after this ISO 8601 moment."),
    ] = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List an event's conflicts, oldest known first (needs a manager or admin token):
    the same rotating code admitted twice (same-code, a screenshot), the same printed code
    twice (same-printed-code), two entries without an exit (entry-without-exit) and
    entries past the policy's allowance (over-allowance).

    JSON: {"conflicts": [{"id", "kind", "eventId", "ticketId", "detectedAt",
    "firstScanId", "admissions": [{"scanId", "deviceId", "gate", "lane", "direction",
    "scannedAt", "decidedBy", "first"}]}]}. Exit 1 when there are conflicts, 0 when none.
    """
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event)
    with backend_client(target) as backend:
        conflicts = backend.list_conflicts(event_id, since=since)
    if as_json:
        print_json({"conflicts": conflicts})
    else:
        print_table(
            ["known", "ticket", "kind", "admissions", "id"],
            [
                (
                    c.get("detectedAt"),
                    c.get("ticketId"),
                    c.get("kind"),
                    _admissions(c),
                    str(c.get("id", ""))[:12],
                )
                for c in conflicts
            ],
        )
    if conflicts:
        raise typer.Exit(int(ExitCode.FAILED))
