"""Commands of other nouns follow the same conventions: --context, --json, the one error mapping."""

from __future__ import annotations

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess
from tests.backend.world import World
from tests.cli.conftest import Cli


def test_catalog_uses_the_context_and_maps_errors_like_every_command(
    cli: Cli, server: ServerProcess, world: World
) -> None:
    cli.json("context", "set", "v1", "--url", server.url)
    token = server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)
    assert cli.run("login", input=token).returncode == 0
    events = cli.json("catalog", "events")
    assert world.own.event in {e["id"] for e in events}
    assert world.other_venue.event not in {e["id"] for e in events}

    result = cli.run("catalog", "events", "--url", "http://127.0.0.1:9")
    assert result.returncode == 3
    assert result.stderr.startswith("Error: cannot reach the backend at http://127.0.0.1:9")


def test_token_issue_errors_are_one_line(cli: Cli) -> None:
    result = cli.run("token", "issue", "--role", "GOD", "--tenant", "t")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: --role must be one of ")
    assert result.stdout == ""


def test_daemon_status_without_a_daemon_exits_3(cli: Cli) -> None:
    # A real process: httpcore leaves the refused unix socket to the garbage collector.
    result = cli.process("daemon", "status", "--socket", str(cli.home / "no.sock"), "--json")
    assert result.returncode == 3
    assert result.stderr.startswith("Error: no daemon answers on ")
    assert "Hint: " in result.stderr
