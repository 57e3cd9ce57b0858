"""`scanctl scans list`: the recorded scans of an event (managers), oldest recorded first."""

from __future__ import annotations

from typing import Annotated

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

__all__ = ["app"]

app = typer.Typer(help="Recorded scans, admitted and denied.", no_args_is_help=True)


@app.command("list")
def list_scans(
    event: Annotated[
        str | None,
        typer.Option("--event", help="The event (default: the context's)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only scans recorded at or after this ISO 8601 moment."),
    ] = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the first page of an event's scans (needs a manager or admin token)."""
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event)
    with backend_client(target) as backend:
        scans = backend.list_scans(event_id, since=since)
    if as_json:
        print_json(scans)
        return
    print_table(
        ["recorded", "ticket", "reason", "gate", "device", "by"],
        [
            (
                s.get("recordedAt"),
                s.get("ticketId"),
                s.get("reason"),
                s.get("gate"),
                s.get("device_id", s.get("deviceId")),
                s.get("decidedBy"),
            )
            for s in scans
        ],
    )
