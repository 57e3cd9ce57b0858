"""The command tree has help everywhere; docs/cli.md and completions/ match the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanctl.cli.app import app
from scanctl.cli.docs import REGENERATE, iter_commands, missing_help, stale_files
from scanctl.cli.exit_codes import ExitCode

REPO = Path(__file__).resolve().parents[2]


def test_every_command_argument_and_option_has_help() -> None:
    missing = missing_help()
    assert not missing, "give these help text:\n  " + "\n  ".join(missing)


def test_the_walk_sees_the_whole_tree() -> None:
    paths = {" ".join(path) for path, _ in iter_commands()}
    for expected in (
        "scanctl context set",
        "scanctl login",
        "scanctl logout",
        "scanctl policy edit",
        "scanctl completions install",
        "scanctl token issue",
    ):
        assert expected in paths


def test_generated_files_are_current() -> None:
    stale = [str(p.relative_to(REPO)) for p in stale_files(REPO)]
    assert not stale, f"out of date: {', '.join(stale)}; regenerate with {REGENERATE}"


def test_a_change_of_help_text_makes_the_page_stale(tmp_path: Path) -> None:
    # The check above can fail: a copy of the page with one line changed is reported.
    (tmp_path / "docs").mkdir()
    (tmp_path / "completions").mkdir()
    (tmp_path / "docs" / "cli.md").write_text(
        (REPO / "docs" / "cli.md").read_text().replace("Named contexts", "Contexts")
    )
    for script in (REPO / "completions").iterdir():
        (tmp_path / "completions" / script.name).write_text(script.read_text())
    assert stale_files(tmp_path) == [tmp_path / "docs" / "cli.md"]


@pytest.mark.parametrize("path", [p[1:] for p, _ in iter_commands()], ids=" ".join)
def test_help_renders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_readme_lists_the_exit_codes() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Command line") :]
    for code in ExitCode:
        assert f"| {int(code)} |" in section, code


def _takes_json(command: object) -> bool:
    params = getattr(command, "params", [])
    return any("--json" in getattr(p, "opts", ()) for p in params)


def test_every_json_command_documents_its_keys() -> None:
    # The contract of a --json command is its keys; its help says them after "JSON:".
    undocumented = [
        " ".join(path)
        for path, command in iter_commands()
        if _takes_json(command) and "JSON:" not in (command.help or "")
    ]
    assert not undocumented, "say the JSON keys (JSON: {...}) of:\n  " + "\n  ".join(undocumented)
