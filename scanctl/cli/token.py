"""`scanctl token issue`: mint a people token signed with JWT_SECRET (bootstrap and tests)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import typer

from scanctl.backend.auth.principal import PERSON_ROLES, Role
from scanctl.cli.common import CliError, JsonOption, print_json
from scanctl.cli.exit_codes import ExitCode

__all__ = ["app"]

app = typer.Typer(
    name="token",
    help="Mint bearer tokens for operators and scripts.",
    no_args_is_help=True,
)

_ROLES = ", ".join(sorted(r.value for r in PERSON_ROLES))
_MAX_TTL = 30 * 24 * 3600
_CONFIG = typer.Option(
    None, "--config", "-c", help="TOML settings file holding jwt_secret.", dir_okay=False
)


@app.command("issue")
def issue(
    role: str = typer.Option(..., "--role", help=f"One of {_ROLES}."),
    tenant: str = typer.Option(..., "--tenant", help="The tenant id (claim tenantId)."),
    venue: str | None = typer.Option(
        None, "--venue", help="Venue UUID (claim venueId); required for staff and managers."
    ),
    ttl: int = typer.Option(3600, "--ttl", min=1, max=_MAX_TTL, help="Lifetime in seconds."),
    subject: str = typer.Option(
        "scanctl-cli", "--subject", help="Who the token speaks for (claim sub)."
    ),
    config: Path | None = _CONFIG,
    as_json: JsonOption = False,
) -> None:
    """Print an HS256 token signed with JWT_SECRET (from the environment or --config).

    JSON: {"token", "subject", "tenantId", "role", "venueId", "expiresAt"}.
    """
    try:
        parsed_role = Role(role.upper())
        if parsed_role not in PERSON_ROLES:
            raise ValueError
    except ValueError:
        raise CliError(f"--role must be one of {_ROLES}", ExitCode.USAGE) from None
    venue_id: str | None = None
    if venue is not None:
        try:
            venue_id = str(uuid.UUID(venue))
        except ValueError:
            raise CliError("--venue must be a UUID", ExitCode.USAGE) from None
    if venue_id is None and parsed_role in (Role.VENUE_STAFF, Role.VENUE_MANAGER):
        raise CliError(f"a {parsed_role.value} token needs --venue", ExitCode.USAGE)
    # The backend's settings and JWT code load only here: `scanctl --help` stays quick.
    from scanctl.backend.auth.tokens import issue_person_token
    from scanctl.backend.errors import ConfigError
    from scanctl.backend.settings import load_jwt_secret

    try:
        secret = load_jwt_secret(config)
    except ConfigError as exc:
        raise CliError(
            "; ".join(exc.problems),
            ExitCode.USAGE,
            hint="set JWT_SECRET (as the backend has it) or pass --config backend.toml",
        ) from None
    now = int(time.time())
    token = issue_person_token(
        secret.get_secret_value(),
        subject=subject,
        tenant_id=tenant,
        role=parsed_role,
        venue_id=venue_id,
        ttl_seconds=ttl,
        now_s=now,
    )
    if as_json:
        expires = datetime.fromtimestamp(now + ttl, tz=UTC).isoformat().replace("+00:00", "Z")
        claims = {"subject": subject, "tenantId": tenant, "role": parsed_role.value}
        print_json({"token": token, **claims, "venueId": venue_id, "expiresAt": expires})
    else:
        typer.echo(token)
