"""`scanctl login` / `scanctl logout`: keep a context's token in the OS keyring (or a 0600 file)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from scanctl.cli.common import (
    EXPIRY_WARNING_SECONDS,
    CliError,
    ContextOption,
    JsonOption,
    backend_client,
    context_name,
    describe_error,
    print_json,
    resolve,
    warn,
)
from scanctl.cli.config_file import load_config
from scanctl.cli.credentials import (
    delete_token,
    keyring_problem,
    store_token,
    token_claims,
    token_expiry,
)
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.times import rfc3339_or_none

__all__ = ["login", "logout"]


def _context_for(flag: str | None) -> str:
    name = context_name(flag)
    if name is None:
        raise CliError(
            "no context to log in to",
            ExitCode.USAGE,
            hint="create one first: `scanctl context set NAME --url https://…`",
        )
    if name not in load_config().contexts:
        raise CliError(
            f"no context named {name!r}",
            ExitCode.USAGE,
            hint=f"create it first: `scanctl context set {name} --url https://…`",
        )
    return name


def _read_token(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        # Piped (`pass show scan | scanctl login`): nothing is echoed, nothing is in history.
        token = sys.stdin.readline().strip()
    else:
        # A hidden prompt (getpass): never echoed, never in the shell's history.
        token = str(typer.prompt("Token", hide_input=True, err=True)).strip()
    if not token:
        raise CliError(
            "no token given", ExitCode.USAGE, hint="paste it at the prompt or pipe it in"
        )
    if any(c.isspace() for c in token):
        raise CliError("a token is one word without spaces or line breaks", ExitCode.USAGE)
    return token


def _verified_claims(name: str, token: str) -> dict[str, Any]:
    """Who the backend takes ``token`` for, as claims; its errors exit 3 or 4 (nothing stored)."""
    from scanctl.client import Unreachable

    target = resolve(context=name, token=token)
    try:
        with backend_client(target) as backend:
            me = backend.me()
    except Unreachable as exc:
        message, _hint = describe_error(exc)
        raise CliError(
            f"{message}; the token was not stored",
            ExitCode.UNREACHABLE,
            hint="start the backend or fix the context's URL; --no-verify stores it unchecked",
        ) from None
    return {
        "sub": me.get("subject"),
        "role": me.get("role"),
        "tenantId": me.get("tenantId"),
        "venueId": me.get("venueId"),
    }


def login(
    context: ContextOption = None,
    with_token: Annotated[
        bool,
        typer.Option(
            "--with-token", help="Read the token from stdin (the default when stdin is a pipe)."
        ),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Ask the context's backend who the token is (GET /api/me) before storing it;"
            " --no-verify stores it unchecked (setting up offline).",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Store a bearer token for a context, read from a hidden prompt or stdin (never echoed).

    The backend is asked first who the token is: a token it refuses is not stored
    (exit 4), nor one it cannot be asked about (exit 3; --no-verify stores it anyway).
    The token goes to the OS keyring; where none works, to a 0600 file in the config
    directory (with a warning). An expired token is refused (exit 4). JSON: {"context",
    "storedIn": "keyring" or "file", "path", "verified", "subject", "role", "tenant",
    "venue", "expiresAt"} (who: as the backend answered, else the token's claims).
    """
    name = _context_for(context)
    token = _read_token(with_token)
    claims = token_claims(token) or {}
    expires = token_expiry(token)
    now = datetime.now(tz=UTC)
    if expires is not None:
        left = (expires - now).total_seconds()
        stamp = expires.strftime("%Y-%m-%d %H:%M UTC")
        if left <= 0:
            raise CliError(
                f"this token expired at {stamp}; nothing was stored",
                ExitCode.NOT_AUTHORIZED,
                hint="ask for a fresh token (`scanctl token issue` on the backend host)",
            )
        if left < EXPIRY_WARNING_SECONDS:
            warn(f"this token expires in {int(left // 60)} min (at {stamp})")
    if verify:
        claims = _verified_claims(name, token)
    stored = store_token(name, token)
    in_keyring = stored.where == "keyring"
    if not in_keyring:
        problem = keyring_problem()
        why = "no OS keyring is available"
        if problem:
            why = f"the OS keyring cannot be used ({problem})"
        warn(f"{why}; the token is stored in {stored.where} (mode 0600)")
    report: dict[str, Any] = {
        "context": name,
        "storedIn": "keyring" if in_keyring else "file",
        "path": None if in_keyring else stored.where,
        "verified": verify,
        "subject": claims.get("sub") or claims.get("userId"),
        "role": claims.get("role"),
        "tenant": claims.get("tenantId"),
        "venue": claims.get("venueId"),
        "expiresAt": rfc3339_or_none(expires),
    }
    if as_json:
        print_json(report)
        return
    who = " ".join(
        str(part) for part in (report["subject"], report["role"] and f"({report['role']})") if part
    )
    until = f", valid until {expires.strftime('%Y-%m-%d %H:%M UTC')}" if expires else ""
    typer.echo(f"logged in to context {name}{' as ' + who if who else ''}{until}")


def logout(context: ContextOption = None, as_json: JsonOption = False) -> None:
    """Forget the stored token of a context (keyring and file).

    JSON: {"context", "removed": list of the places it was removed from}.
    """
    name = context_name(context)
    if name is None:
        raise CliError("no context to log out of", ExitCode.USAGE, hint="pass --context NAME")
    removed = delete_token(name)
    if as_json:
        print_json({"context": name, "removed": removed})
        return
    typer.echo(
        f"logged out of context {name}" if removed else f"no token was stored for context {name}"
    )
