"""`scanctl qr …`: fetch a fresh rotating code for a ticket, as text or drawn in the terminal."""

from __future__ import annotations

import sys
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
from scanctl.cli.contract import to_contract

__all__ = ["app"]

app = typer.Typer(
    help="Rotating QR codes: fetch one for a ticket (needs an ADMIN or SYSTEM token).",
    no_args_is_help=True,
)

TicketArgument = Annotated[str, typer.Argument(help="The ticket id (8 lowercase hex).")]


@app.command("generate")
def generate(
    ticket: TicketArgument,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the code (for a script).")
    ] = False,
) -> None:
    """Print a fresh code for TICKET and when it expires (about 30 s from now).

    JSON: {"ticketId", "qrData", "expiresAt"} (and any other field the backend sends).
    """
    target = resolve(context=context, url=url, token=token)
    with backend_client(target) as backend:
        code = backend.generate_qr(ticket)
    if as_json:
        print_json(to_contract(code))
        return
    if quiet:
        typer.echo(code["qrData"])
        return
    print_table(
        ["ticket", "expires", "code"],
        [(code.get("ticketId"), code.get("expiresAt"), code.get("qrData"))],
    )


@app.command("show")
def show(
    ticket: TicketArgument,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Draw a fresh code for TICKET in the terminal, ready for a scanner to read."""
    import segno

    target = resolve(context=context, url=url, token=token)
    with backend_client(target) as backend:
        code = backend.generate_qr(ticket)
    segno.make(str(code["qrData"]), error="m").terminal(out=sys.stdout, compact=True)
    typer.echo(f"ticket {code.get('ticketId')} · expires {code.get('expiresAt')}")
