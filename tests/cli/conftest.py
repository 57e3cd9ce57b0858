"""Fixtures of the CLI tests: the backend tests' server process and world, a clean CLI home.

`cli.run(...)` invokes the real Typer app in-process (CliRunner: quick), `cli.process(...)`
starts a real `scanctl` process. Both get a private HOME and XDG config directory, no
inherited SCANCTL_* variables, and no usable keyring unless a test installs one, so the
0600 file fallback is what runs (and no test touches the developer's own keyring).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from typer.testing import CliRunner

from scanctl.cli.app import app
from tests.backend.conftest import server, world  # noqa: F401 - the session's backend
from tests.backend.helpers import SCANCTL

REPO = Path(__file__).resolve().parents[2]
_OURS = (
    "SCANCTL_URL", "SCANCTL_TOKEN", "SCANCTL_CONTEXT", "SCANCTL_CONFIG", "SCANCTL_TENANT",
    "SCANCTL_VENUE", "SCANCTL_EVENT", "SCANCTL_DEVICE", "SCANCTL_DATA_DIR", "EDITOR", "VISUAL",
)  # fmt: skip


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """Runs `scanctl` with a private home, config directory and keyring choice."""

    home: Path
    env: dict[str, str]

    @property
    def config_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "scanctl"

    def run(self, *args: str, input: str | None = None, **env: str) -> Result:
        """The app in this process (CliRunner), with this home's environment."""
        merged: dict[str, str | None] = {k: None for k in _OURS}
        merged.update(self.env)
        merged.update(env)
        result = CliRunner().invoke(app, list(args), input=input, env=merged)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Result(result.exit_code, result.stdout, result.stderr)

    def process(
        self, *args: str, input: str | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """A real `scanctl` process."""
        return subprocess.run(
            [SCANCTL, *args],
            env={**self.process_env, **env},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.home,
        )

    @property
    def process_env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
        base = {k: v for k, v in os.environ.items() if k in keep}
        # The fail backend: the file fallback runs, as on a headless box.
        return {**base, **self.env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    def json(self, *args: str, **kwargs: Any) -> Any:
        result = self.run(*args, "--json", **kwargs)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "COLUMNS": "200",
        "SHELL": "/bin/sh",
    }
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield Cli(home, env)
    finally:
        keyring.set_keyring(previous)
