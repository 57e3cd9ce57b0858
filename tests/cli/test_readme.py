"""The README's command-line walkthrough runs as written, against a real backend."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.backend.helpers import SCANCTL, ServerProcess
from tests.cli.conftest import REPO


def _block(section: str, after: str = "") -> str:
    readme = (REPO / "README.md").read_text()
    text = readme[readme.index(f"## {section}") :]
    text = text[text.index(after) :] if after else text
    match = re.search(r"```sh\n(.*?)```", text, re.S)
    assert match is not None, section
    return match.group(1)


def _env(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{Path(SCANCTL).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / ".config"),
        "XDG_DATA_HOME": str(tmp_path / ".local/share"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "JWT_SECRET": server.jwt_secret,
        "SCANCTL_URL": server.url,  # the block keeps a URL it is given
    }


def test_scanning_from_the_command_line(server: ServerProcess, tmp_path: Path) -> None:
    env = _env(server, tmp_path)
    result = subprocess.run(
        ["bash", "-c", _block("Scanning from the command line")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr, result.stderr
    out = result.stdout
    assert "ADMITTED  ADMITTED" in out
    assert "DENIED  QR_ALREADY_USED" in out
    assert "DENIED  ALREADY_SCANNED" in out
    rows = (tmp_path / "scans.csv").read_text().splitlines()
    assert len(rows) == 4  # a header and the three scans
    assert (tmp_path / "gate-a" / "device.json").exists()


def test_running_the_backend_second_terminal(server: ServerProcess, tmp_path: Path) -> None:
    # Steps 3-6, run from the checkout (`.venv/bin/scanctl`): here a directory whose
    # .venv is the checkout's, so that tickets.csv and ./gate land in tmp_path.
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    result = subprocess.run(
        ["bash", "-e", "-c", _block("Running the backend", after="In a second terminal")],
        env=_env(server, tmp_path), cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Error:" not in result.stderr, result.stderr
    assert "pushed the policy of event" in result.stdout
    assert (tmp_path / "gate" / "device.json").exists()


def test_a_first_session_then_contexts_and_login(server: ServerProcess, tmp_path: Path) -> None:
    """The two walkthroughs of *Command line*, one after the other, in one shell; $EDITOR
    is a program that keeps the policy as it is (a person would save it unchanged)."""
    walkthrough = _block("Command line", after="### A first session") + _block(
        "Command line", after="### Contexts and login"
    )
    env = _env(server, tmp_path) | {"EDITOR": "true"}
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", walkthrough],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr, result.stderr
    out = result.stdout
    assert "logged in to context hall-a as" in out and "(ADMIN)" in out
    assert "logged in to context hall-b" in out and "(VENUE_MANAGER)" in out
    assert re.search(r"^1\t0\t0\t\d+$", out, re.M), out  # one ticket created
    assert "Pulled full manifest for event" in out and "1 tickets held" in out, out
    assert "Pushed 0 scans" in out
    assert (tmp_path / "gate" / "device.json").exists()
    assert (tmp_path / "gate" / "manifest.db").exists()
    assert re.search(r"^\*\thall-a\t", out, re.M), out  # the current context, marked
    assert len(re.findall(r"^eyJ", out, re.M)) == 1  # shown once: when asked (--show-token)
    assert "logged out of context hall-b" in out and out.rstrip().endswith(
        "current context: hall-a"
    )
