"""`scanctl completions`: the printed scripts, installing them, and completion at run time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Cli


@pytest.mark.parametrize(
    ("shell", "file"), [("bash", "scanctl.bash"), ("zsh", "_scanctl"), ("fish", "scanctl.fish")]
)
def test_printed_script_is_the_committed_one(cli: Cli, shell: str, file: str) -> None:
    result = cli.run("completions", shell)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO / "completions" / file).read_text()


def test_install_for_fish_and_bash(cli: Cli) -> None:
    report = cli.json("completions", "install", "--shell", "fish")
    path = Path(report["path"])
    assert report == {"shell": "fish", "path": str(path), "written": True}
    assert path == cli.home / ".config/fish/completions/scanctl.fish"
    assert path.read_text() == (REPO / "completions" / "scanctl.fish").read_text()

    dry = cli.json("completions", "install", "--dry-run", SHELL="/usr/bin/bash")
    assert dry["written"] is False
    assert dry["shell"] == "bash"
    assert not Path(dry["path"]).exists()


def test_unknown_shell_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("completions", "install", SHELL="/bin/tcsh")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: cannot tell which shell")
    assert "Hint: pass --shell" in result.stderr


def test_the_bash_script_gets_candidates_from_scanctl(cli: Cli) -> None:
    # What the installed bash function does on TAB after `scanctl pol`.
    result = cli.process(
        _SCANCTL_COMPLETE="complete_bash",
        COMP_WORDS="scanctl pol",
        COMP_CWORD="1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["policy"]
    result = cli.process(
        _SCANCTL_COMPLETE="complete_bash", COMP_WORDS="scanctl policy ", COMP_CWORD="2"
    )
    assert set(result.stdout.split()) >= {"show", "set", "edit", "templates"}


def test_fish_candidates_carry_help(cli: Cli) -> None:
    result = cli.process(
        _SCANCTL_COMPLETE="complete_fish",
        _TYPER_COMPLETE_ARGS="scanctl context ",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
    )
    assert result.returncode == 0, result.stderr
    assert "use" in result.stdout
    json.dumps(result.stdout)  # plain text
