"""`scanctl completions`: the printed scripts, installing them, and completion at run time."""

from __future__ import annotations

import json
import subprocess
import sys
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


@pytest.mark.parametrize(
    "words",
    ["scanctl context use h", "scanctl --context h", "scanctl policy show --context h"],
)
def test_context_names_complete(cli: Cli, words: str) -> None:
    for name in ("hall-a", "hall-b", "yard"):
        cli.json("context", "set", name, "--url", "http://127.0.0.1:9")
    result = cli.process(
        _SCANCTL_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - 1)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hall-a", "hall-b"]


HEAVY = ("pydantic", "httpx", "rich", "keyring", "fastapi", "sqlalchemy", "uvicorn", "textual")
OURS_HEAVY = ("scanctl.client", "scanctl.core", "scanctl.manifests", "scanctl.drivers")


@pytest.mark.parametrize(
    "env",
    [
        {"_SCANCTL_COMPLETE": "complete_bash", "COMP_WORDS": "scanctl de", "COMP_CWORD": "1"},
        {
            "_SCANCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": "scanctl scans list --",
            "COMP_CWORD": "3",
        },
        {"ARGS": "--help"},
        {"ARGS": "device list --help"},
    ],
    ids=["complete-noun", "complete-option", "help", "sub-help"],
)
def test_start_imports_no_heavy_stack(cli: Cli, env: dict[str, str]) -> None:
    # What `scanctl --help` and every TAB load: the figures are in bench/README.md.
    args = env.pop("ARGS", "").split()
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
        "sys.argv = ['scanctl', *sys.argv[1:]]\n"
        "from scanctl.cli.app import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**cli.process_env, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(OURS_HEAVY))
    assert not heavy, heavy
    small = ("scanctl.daemon.layout", "scanctl.backend.auth", "scanctl.backend.auth.principal")
    stacks = sorted(
        m for m in loaded
        if m.startswith(("scanctl.daemon.", "scanctl.backend.")) and m not in small
    )  # fmt: skip
    assert not stacks, stacks
