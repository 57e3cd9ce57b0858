"""Fixtures of the CLI tests: the backend tests' server process and world, a clean CLI home.

Every `scanctl` here runs as a real process with its own config directory (XDG_CONFIG_HOME)
and, unless a test says otherwise, no usable keyring: the 0600 file fallback is what runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.backend.conftest import server, world  # noqa: F401 - the session's backend
from tests.backend.helpers import SCANCTL, ServerProcess

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    """Runs `scanctl` with a private home, config directory and keyring choice."""

    home: Path
    env: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "scanctl"

    def run(
        self, *args: str, input: str | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCANCTL, *args],
            env={**self.env, **env},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.run(*args, "--json", **kwargs)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        # Never the developer's real keyring: the fail backend makes the file fallback run.
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
    )
    return Cli(home, env)


@pytest.fixture
def logged_in(cli: Cli, server: ServerProcess) -> Cli:  # noqa: F811
    """A context `venue` on the session's server; log in is left to the test."""
    result = cli.run("context", "set", "venue", "--url", server.url)
    assert result.returncode == 0, result.stderr
    return cli
