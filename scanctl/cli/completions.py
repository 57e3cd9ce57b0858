"""`scanctl completions …`: shell completion scripts for bash, zsh and fish, and installing them.

The scripts are small and ask `scanctl` itself for candidates (Typer's completion
protocol), so they stay right as commands are added. Copies live in `completions/`
for packagers; `make docs` regenerates them and a test keeps them current.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

from scanctl.cli.common import CliError, DryRunOption, JsonOption, print_json
from scanctl.cli.exit_codes import ExitCode

__all__ = ["SHELLS", "app", "completion_script", "install_path", "write_completion_files"]

# Registers the shell classes that answer the scripts' completion requests at run time
# (the root app is built with add_completion=False, so nothing else does).
completion_init()

SHELLS = ("bash", "zsh", "fish")
_FILE_NAMES = {"bash": "scanctl.bash", "zsh": "_scanctl", "fish": "scanctl.fish"}

app = typer.Typer(
    name="completions",
    help="Shell completion for bash, zsh and fish: print the script or install it.",
    no_args_is_help=True,
)


def completion_script(shell: str) -> str:
    """The completion script for ``shell`` (one of SHELLS)."""
    if shell not in SHELLS:
        raise CliError(f"no completion for {shell!r}", ExitCode.USAGE, hint=", ".join(SHELLS))
    script = get_completion_script(
        prog_name="scanctl", complete_var="_SCANCTL_COMPLETE", shell=shell
    )
    return script.rstrip("\n") + "\n"


def write_completion_files(directory: Path) -> list[Path]:
    """Write every shell's script into ``directory`` (the repository's `completions/`)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell in SHELLS:
        path = directory / _FILE_NAMES[shell]
        path.write_text(completion_script(shell), encoding="utf-8")
        written.append(path)
    return written


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def install_path(shell: str) -> Path:
    """Where a user's shell picks the script up without editing any rc file (zsh: see hint)."""
    if shell == "bash":  # bash-completion's per-user directory, loaded on demand
        return _xdg("XDG_DATA_HOME", ".local/share") / "bash-completion/completions/scanctl"
    if shell == "fish":
        return _xdg("XDG_CONFIG_HOME", ".config") / "fish/completions/scanctl.fish"
    if shell == "zsh":
        return Path.home() / ".zfunc" / "_scanctl"
    raise CliError(f"no completion for {shell!r}", ExitCode.USAGE, hint=", ".join(SHELLS))


def _detect_shell() -> str:
    name = Path(os.environ.get("SHELL", "")).name
    if name in SHELLS:
        return name
    raise CliError(
        "cannot tell which shell you use ($SHELL is not bash, zsh or fish)",
        ExitCode.USAGE,
        hint="pass --shell bash|zsh|fish",
    )


def _printer(shell: str) -> None:
    def command() -> None:
        typer.echo(completion_script(shell), nl=False)

    command.__doc__ = f"Print the {shell} completion script (e.g. to source it)."
    app.command(shell)(command)


for _shell in SHELLS:
    _printer(_shell)


@app.command("install")
def install(
    shell: Annotated[
        str | None,
        typer.Option(
            "--shell", help="bash, zsh or fish (default: from $SHELL).", show_default=False
        ),
    ] = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Install the completion script where your shell loads it from.

    bash: ~/.local/share/bash-completion/completions (needs the bash-completion
    package); fish: ~/.config/fish/completions; zsh: ~/.zfunc (add it to fpath).
    JSON: {"shell", "path", "written"}.
    """
    chosen = shell or _detect_shell()
    path = install_path(chosen)
    script = completion_script(chosen)
    if not dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script, encoding="utf-8")
    if as_json:
        print_json({"shell": chosen, "path": str(path), "written": not dry_run})
        return
    typer.echo(f"{'would write' if dry_run else 'wrote'} {path}")
    if chosen == "zsh":
        typer.echo("add to ~/.zshrc: fpath+=~/.zfunc; autoload -Uz compinit; compinit")
    else:
        typer.echo("open a new shell to use it")
