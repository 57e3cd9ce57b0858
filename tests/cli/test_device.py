"""`scanctl device register` at a venue's registration limit: the error says what and how long."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import SCANCTL, ServerProcess, start_server
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


def test_scanctl_data_dir_replacing_the_gate_toml_s_is_said(cli: Cli, tmp_path: Path) -> None:
    gate = tmp_path / "gate.toml"
    gate.write_text(
        f'event_id = "{uuid.uuid4()}"\ndata_dir = "{tmp_path / "gate"}"\n\n'
        '[[scanner]]\nname = "s1"\ndriver = "stdin"\ngate = "north"\n'
    )
    other = tmp_path / "backend-data"
    result = cli.run("manifest", "show", "--config", str(gate), SCANCTL_DATA_DIR=str(other))
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"Warning: SCANCTL_DATA_DIR={other} replaces data_dir = ")
    assert str(other) in result.stdout  # the daemon would use it too: so does the CLI
    quiet = cli.run("manifest", "show", "--config", str(gate))
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert str(tmp_path / "gate") in quiet.stdout


def test_daemon_run_says_so_too_when_scanctl_data_dir_replaces_the_gate_toml_s(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate.toml"
    gate.write_text(
        f'event_id = "{uuid.uuid4()}"\ndata_dir = "{tmp_path / "gate"}"\n\n'
        '[[scanner]]\nname = "s1"\ndriver = "stdin"\ngate = "north"\n'
    )
    other = tmp_path / "backend-data"
    # A process of its own: `daemon run` sets up logging for the whole process.
    result = subprocess.run(
        [SCANCTL, "daemon", "run", "--config", str(gate)],
        env={**os.environ, "SCANCTL_DATA_DIR": str(other)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2  # nothing registered there: refused, as it should be
    assert f"Warning: SCANCTL_DATA_DIR={other} replaces data_dir = " in result.stderr
    assert "Traceback" not in result.stderr
