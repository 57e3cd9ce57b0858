"""The command reference `docs/cli.md` and the `completions/` scripts, generated from the app.

Regenerate both after adding or changing a command (`make docs` runs this)::

    .venv/bin/python -m scanctl.cli.docs          # write docs/cli.md and completions/
    .venv/bin/python -m scanctl.cli.docs --check  # exit 1 when either is stale

`missing_help` lists every command, argument and option without help text; a test
walks the whole tree with it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import typer.core
import typer.main

from scanctl.cli.common import attribute_docs
from scanctl.cli.exit_codes import ExitCode

__all__ = [
    "REGENERATE",
    "iter_commands",
    "missing_help",
    "render_markdown",
    "repository_root",
    "stale_files",
    "write_all",
]

REGENERATE = "make docs  (or: .venv/bin/python -m scanctl.cli.docs)"

Command = Any  # typer's vendored click.Command; kept loose to avoid its private module


def repository_root() -> Path:
    """The checkout this package is installed from (editable install)."""
    return Path(__file__).resolve().parents[2]


def _root() -> Command:
    from scanctl.cli.app import app

    return typer.main.get_command(app)


def iter_commands(
    command: Command | None = None, path: tuple[str, ...] = ("scanctl",)
) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every visible command and group, depth first, sub-commands sorted by name."""
    command = command if command is not None else _root()
    yield path, command
    for name in sorted(getattr(command, "commands", {}) or {}):
        sub = command.commands[name]
        if getattr(sub, "hidden", False):
            continue
        yield from iter_commands(sub, (*path, name))


def _help(command: Command) -> str:
    text = command.help or command.short_help or ""
    return inspect.cleandoc(text).replace("\b\n", "").strip()


def _params(command: Command) -> list[Any]:
    return [p for p in command.params if not getattr(p, "hidden", False)]


def _is_option(param: Any) -> bool:
    return bool(getattr(param, "opts", None)) and param.param_type_name == "option"


def missing_help(root: Command | None = None) -> list[str]:
    """``scanctl x y`` / ``scanctl x y --opt`` for each command or parameter lacking help."""
    missing = []
    for path, command in iter_commands(root):
        name = " ".join(path)
        if not _help(command):
            missing.append(name)
        for param in _params(command):
            if not (getattr(param, "help", None) or "").strip():
                label = param.opts[0] if _is_option(param) else str(param.name).upper()
                missing.append(f"{name} {label}")
    return missing


def _usage(path: tuple[str, ...], command: Command) -> str:
    parts = [" ".join(path)]
    if any(_is_option(p) for p in _params(command)):
        parts.append("[OPTIONS]")
    if getattr(command, "commands", None):
        parts.append("COMMAND [ARGS]...")
    for param in _params(command):
        if _is_option(param):
            continue
        meta = str(param.name).upper()
        if param.nargs == -1:
            meta += "..."
        parts.append(meta if param.required else f"[{meta}]")
    return " ".join(parts)


def _default(param: Any) -> str:
    default = param.default
    if (
        callable(default)
        or default is None
        or default is False
        or default == ()
        or getattr(param, "show_default", None) is False
        or getattr(param, "is_flag", False)
    ):
        return ""
    return f"`{default}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(root: Command | None = None) -> str:
    """The whole command reference as Markdown."""
    lines = [
        "# scanctl command reference",
        "",
        "<!-- Generated from the commands' help texts by scanctl/cli/docs.py. Do not edit:",
        f"     run {REGENERATE}. -->",
        "",
        "Settings come from, in order: a command's flags, the environment (`SCANCTL_URL`,",
        "`SCANCTL_TOKEN`, `SCANCTL_CONTEXT`, `SCANCTL_TENANT`, `SCANCTL_VENUE`, `SCANCTL_EVENT`,",
        "`SCANCTL_DEVICE`, `SCANCTL_DATA_DIR`), the context (`scanctl context`), the defaults.",
        "`--json` output has stable, documented keys; errors are one `Error:` line on stderr.",
        "",
        "## Exit codes",
        "",
        "| code | name | meaning |",
        "|---:|---|---|",
    ]
    meanings = attribute_docs(ExitCode)
    for code in ExitCode:
        lines.append(f"| {int(code)} | `{code.name}` | {_cell(meanings.get(code.name, ''))} |")
    for path, command in iter_commands(root):
        lines += ["", f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`", ""]
        help_text = _help(command)
        if help_text:
            lines += [help_text, ""]
        lines += ["```", _usage(path, command), "```"]
        subcommands = getattr(command, "commands", None) or {}
        visible = {n: c for n, c in sorted(subcommands.items()) if not getattr(c, "hidden", False)}
        if visible:
            lines += ["", "| command | what it does |", "|---|---|"]
            for name, sub in visible.items():
                first = _help(sub).split("\n\n")[0]
                lines.append(f"| `{name}` | {_cell(first)} |")
        params = _params(command)
        if params:
            lines += ["", "| argument or option | help | default |", "|---|---|---|"]
            for param in params:
                if _is_option(param):
                    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
                else:
                    names = f"`{str(param.name).upper()}`"
                help_text = _cell(getattr(param, "help", None) or "")
                lines.append(f"| {names} | {help_text} | {_default(param)} |")
    return "\n".join(lines) + "\n"


def _targets(root_dir: Path) -> dict[Path, str]:
    from scanctl.cli.completions import _FILE_NAMES, completion_script

    targets = {root_dir / "docs" / "cli.md": render_markdown()}
    for shell, name in _FILE_NAMES.items():
        targets[root_dir / "completions" / name] = completion_script(shell)
    return targets


def stale_files(root_dir: Path | None = None) -> list[Path]:
    """The generated files that differ from what the code generates now."""
    root_dir = root_dir or repository_root()
    stale = []
    for path, text in _targets(root_dir).items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            stale.append(path)
    return stale


def write_all(root_dir: Path | None = None) -> list[Path]:
    """Regenerate docs/cli.md and completions/*; the files written."""
    root_dir = root_dir or repository_root()
    written = []
    for path, text in _targets(root_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m scanctl.cli.docs [--check]``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path} (run {REGENERATE})", file=sys.stderr)
        return 1 if stale else 0
    if args:
        print("usage: python -m scanctl.cli.docs [--check]", file=sys.stderr)
        return int(ExitCode.USAGE)
    for path in write_all():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
