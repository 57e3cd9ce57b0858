"""`scanctl catalog`: tickets from stdin, event times in the CLI's relative forms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess
from tests.cli.conftest import Cli


@pytest.fixture
def admin(cli: Cli, server: ServerProcess) -> Cli:
    cli.env["SCANCTL_URL"] = server.url
    cli.env["SCANCTL_TOKEN"] = server.token(Role.ADMIN, f"cat-{uuid.uuid4().hex[:6]}")
    return cli


def _event(cli: Cli, *times: str) -> dict[str, str]:
    event, venue = str(uuid.uuid4()), str(uuid.uuid4())
    created: dict[str, str] = cli.json(
        "catalog", "add-event", "--id", event, "--venue", venue, "--name", "N", *times
    )
    return created


def test_add_event_takes_relative_times(admin: Cli) -> None:
    created = _event(admin, "--starts-at", "-1h", "--ends-at", "+5h")
    starts = datetime.fromisoformat(created["startsAt"])
    ends = datetime.fromisoformat(created["endsAt"])
    now = datetime.now(UTC)
    assert abs(starts - (now - timedelta(hours=1))) < timedelta(minutes=1)
    assert abs(ends - (now + timedelta(hours=5))) < timedelta(minutes=1)


def test_add_event_refuses_a_time_without_zone(admin: Cli) -> None:
    result = admin.run(
        "catalog", "add-event", "--id", str(uuid.uuid4()), "--venue", str(uuid.uuid4()),
        "--name", "N", "--starts-at", "2030-06-01T18:00", "--ends-at", "+5h",
    )  # fmt: skip
    assert result.returncode == 2
    assert "no time zone" in result.stderr


@pytest.mark.parametrize(
    "body",
    ["id,status\n0000000a,ACTIVE\n0000000b,ACTIVE\n", '[{"id": "0000000a"}, {"id": "0000000b"}]'],
    ids=["csv", "json"],
)
def test_import_reads_stdin(admin: Cli, body: str) -> None:
    event = _event(admin, "--starts-at", "-1h", "--ends-at", "+5h")["id"]
    result = admin.run("catalog", "import", "-", "--event", event, "--json", input=body)
    assert result.returncode == 0, result.stderr
    assert '"tickets": 2' in result.stdout


def test_stdin_problems_name_stdin(admin: Cli) -> None:
    event = _event(admin, "--starts-at", "-1h", "--ends-at", "+5h")["id"]
    result = admin.run("catalog", "import", "-", "--event", event, input="id\nnot-hex\n")
    assert result.returncode == 2
    assert result.stderr.startswith("<stdin>:2: id: ")
