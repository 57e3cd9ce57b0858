"""`scanctl device register` at a venue's registration limit: the error says what and how long."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, start_server
from tests.cli.conftest import Cli, Result


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that lets a manager register one device per venue and hour."""
    running = start_server(tmp_path_factory.mktemp("strict"), DEVICE_REGISTRATION_LIMIT="1/hour")
    try:
        yield running
    finally:
        assert running.stop() == 0, running.log()


def _register(cli: Cli, server: ServerProcess, token: str, venue: str, where: Path) -> Result:
    return cli.run(
        "device", "register", "--name", "gate", "--venue", venue, "--data-dir", str(where),
        SCANCTL_URL=server.url, SCANCTL_TOKEN=token,
    )  # fmt: skip


def test_the_limit_names_the_setting_and_the_wait(
    cli: Cli, strict: ServerProcess, tmp_path: Path
) -> None:
    venue = str(uuid.uuid4())
    manager = strict.token(Role.VENUE_MANAGER, "lim", venue)
    assert _register(cli, strict, manager, venue, tmp_path / "a").returncode == 0
    result = _register(cli, strict, manager, venue, tmp_path / "b")
    assert result.returncode == 1
    error, hint = result.stderr.splitlines()
    assert error.startswith("Error: rate limited: too many device registrations for this venue")
    assert "DEVICE_REGISTRATION_LIMIT is 1/hour" in error
    assert hint.startswith("Hint: try again in ") and hint.endswith(" s")


def test_an_admin_registers_the_venues_next_gate(
    cli: Cli, strict: ServerProcess, tmp_path: Path
) -> None:
    venue = str(uuid.uuid4())
    admin = strict.token(Role.ADMIN, "lim")
    for n in range(3):
        result = _register(cli, strict, admin, venue, tmp_path / str(n))
        assert result.returncode == 0, result.stderr
