"""`scanctl scan CODE`: ask the backend to decide a scanned code; exit 0 admitted, 1 denied."""

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
    resolve,
)
from scanctl.cli.exit_codes import ExitCode

__all__ = ["scan"]

# A person at a prompt can wait longer than a gate's 300 ms online deadline.
_DEADLINE_S = 10.0


def scan(
    code: Annotated[str, typer.Argument(help="The scanned payload (a rotating token, say).")],
    event: Annotated[
        str | None,
        typer.Option("--event", help="The event scanned for (default: the context's)."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option("--device", help="The registered device scanning (default: the context's)."),
    ] = None,
    gate: Annotated[str | None, typer.Option("--gate", help="The gate's name.")] = None,
    exit_lane: Annotated[
        bool, typer.Option("--exit", help="Scan on an exit lane (default: entry).")
    ] = False,
    zone: Annotated[
        str | None,
        typer.Option("--zone", help="The lane's zone, for a device registered without one."),
    ] = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide CODE online and print the decision. Exit 0 admitted, 1 denied.

    JSON: the decision, {"allowed", "reason", "message", "ticketId", "admittedAt",
    "admittedGate", "transferredTo", "retryAfterSeconds", "warning", "scanId",
    "decidedAt", "admittedDevice"} (unused facts null).
    """
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event)
    device_id = target.require("device", device)
    with backend_client(target) as backend:
        result = backend.scan(
            code,
            event_id,
            device_id,
            gate=gate,
            direction="exit" if exit_lane else None,
            zone=zone,
            deadline=_DEADLINE_S,
        )
    if as_json:
        print_json({"allowed": result.allowed, "reason": str(result.reason),
                    "message": result.message, **result.extra})  # fmt: skip
    else:
        verdict = "ADMITTED" if result.allowed else "DENIED"
        typer.echo(f"{verdict}  {result.reason}  {result.message}")
        facts = {k: v for k, v in result.extra.items() if v is not None and k != "decidedAt"}
        for key in sorted(facts):
            typer.echo(f"  {key}: {facts[key]}")
    if not result.allowed:
        raise typer.Exit(ExitCode.FAILED)
