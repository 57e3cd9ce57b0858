"""Every documented exit status, one row per failure mode, against a real backend.

The README's table ("Output, errors, exit codes") is the contract; each row here runs
a real command and checks its status and the first line on stderr (one line, no
traceback). The server rows start real `scanctl server run` processes.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest

from scanctl.backend.auth.principal import Role
from scanctl.cli.exit_codes import ExitCode
from tests.backend.helpers import ServerProcess, base_env, free_port
from tests.backend.world import World
from tests.cli.conftest import Cli


@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    code: ExitCode
    stderr_starts: str
    input: str | None = None
    token: Callable[[ServerProcess, World], str] | None = None
    url: str | None = None


def _manager(server: ServerProcess, world: World) -> str:
    return server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)


def _staff(server: ServerProcess, world: World) -> str:
    return server.token(Role.VENUE_STAFF, world.own.tenant, world.own.venue)


def _expired(server: ServerProcess, world: World) -> str:
    claims = {"sub": "x", "tenantId": world.own.tenant, "role": "ADMIN"}
    return jwt.encode({**claims, "exp": int(time.time()) - 60}, server.jwt_secret)


NOWHERE = "http://127.0.0.1:9"
ROWS = {
    "denied by an answer of no": Row(
        ("device", "revoke", str(uuid.uuid4())), ExitCode.FAILED, "Error: not confirmed;",
        input="n\n", token=_manager,
    ),
    "not found": Row(
        ("device", "show", str(uuid.uuid4())), ExitCode.FAILED, "Error: not found", token=_manager
    ),
    "no answer on a non-tty": Row(
        ("device", "revoke", str(uuid.uuid4())), ExitCode.USAGE, "Error: no answer to",
        input="", token=_manager,
    ),
    "server-side validation (422)": Row(
        ("scans", "list", "--event", "not-a-uuid"), ExitCode.USAGE,
        "Error: the backend refused the request: ", token=_manager,
    ),
    "URL without a scheme": Row(
        ("catalog", "events"), ExitCode.USAGE, "Error: the backend URL '127.0.0.1:9' ",
        url="127.0.0.1:9",
    ),
    "a bad relative time": Row(("scans", "list", "--since", "soon"), ExitCode.USAGE, "Usage:"),
    "unknown context": Row(
        ("catalog", "events", "--context", "nope"), ExitCode.USAGE, "Error: no context named"
    ),
    "unknown option": Row(("catalog", "events", "--frobnicate"), ExitCode.USAGE, "Usage:"),
    "backend unreachable": Row(
        ("catalog", "events"), ExitCode.UNREACHABLE, "Error: cannot reach the backend",
        url=NOWHERE,
    ),
    "no token": Row(("catalog", "events"), ExitCode.NOT_AUTHORIZED, "Error: the backend refused"),
    "expired token": Row(
        ("catalog", "events"), ExitCode.NOT_AUTHORIZED, "Error: the token", token=_expired
    ),
    "role may not act": Row(
        ("device", "revoke", str(uuid.uuid4()), "--yes"), ExitCode.NOT_AUTHORIZED,
        "Error: not allowed", token=_staff,
    ),
}  # fmt: skip


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_exit_code(cli: Cli, server: ServerProcess, world: World, row: Row) -> None:
    env = {"SCANCTL_URL": row.url or server.url}
    if row.token is not None:
        env["SCANCTL_TOKEN"] = row.token(server, world)
    result = cli.run(*row.args, input=row.input, **env)
    assert result.returncode == row.code, result.stderr
    lines = result.stderr.splitlines()
    if row.input is not None:  # the question comes first
        assert lines.pop(0).endswith("? [y/N]:"), result.stderr
    assert lines[0].startswith(row.stderr_starts), result.stderr
    assert "Traceback" not in result.stderr


def test_server_port_in_use_is_a_configuration_error(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli.process("server", "run", "--port", str(port), **base_env(tmp_path / "data"))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"Error: port {port} on 127.0.0.1 is already in use\n")


def test_server_with_an_uncreatable_data_dir_says_so_in_one_line(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = base_env(blocker / "data")
    result = cli.process("server", "run", "--port", str(free_port()), **env)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"Error: cannot create the data directory {blocker}/data")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the error and its hint
