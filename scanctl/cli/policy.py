"""`scanctl policy …`: show, set and edit an event's scan policy; list the templates.

Every change is validated here with `scanctl.core.Policy` before anything is sent
(an invalid policy exits 2 and nothing is pushed), shown as a diff, and pushed with
``PUT /api/policies/{eventId}``; ``--dry-run`` stops after the diff.
"""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.common import (
    CliError,
    ContextOption,
    DryRunOption,
    JsonOption,
    Target,
    TokenOption,
    UrlOption,
    YesOption,
    attribute_docs,
    backend_client,
    confirm,
    print_json,
    print_table,
    resolve,
    stderr,
    stdout,
)
from scanctl.cli.config_file import toml_dumps
from scanctl.cli.contract import times_only
from scanctl.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from pydantic import ValidationError

    from scanctl.core import Policy

__all__ = ["app", "parse_assignments", "policy_from_toml", "policy_toml"]

app = typer.Typer(
    name="policy",
    help="An event's scan policy: show it, set keys, edit it as TOML; the templates.",
    no_args_is_help=True,
)

EventArgument = Annotated[
    str | None,
    typer.Argument(help="The event's UUID (default: the context's event).", show_default=False),
]
_ERROR_MARK = "# ERROR:"


# -- the policy as TOML ---------------------------------------------------------------


def _line(name: str, value: Any) -> str:
    """``name = value``; a table inline, so that every key stays at the top level and a key
    added at the end of the file never lands inside a table by accident."""
    if isinstance(value, dict):
        items = ", ".join(toml_dumps({k: v}).strip() for k, v in sorted(value.items()))
        return f"{name} = {{ {items} }}" if items else f"{name} = {{}}"
    return toml_dumps({name: value}).strip()


def _model() -> type[Policy]:
    """`scanctl.core.Policy`, imported when a command needs it (pydantic: not at start)."""
    from scanctl.core import Policy

    return Policy


def policy_toml(policy: Policy, *, header: str = "") -> str:
    """The policy as commented TOML: one key per line with its meaning, defaults marked."""
    docs = attribute_docs(_model())
    data = policy.as_dict()
    defaults = _model()().as_dict()
    lines = [header] if header else []
    for name in _model().model_fields:
        value = data[name]
        if name in docs:
            lines.append(f"# {docs[name]}")
        if value is None:
            lines.append(f"# {name} =   (unset)")
        else:
            mark = "" if value != defaults[name] else "  # default"
            lines.append(_line(name, value) + mark)
    return "\n".join(lines) + "\n"


def _plain_toml(policy: Policy) -> str:
    """The policy's TOML without comments: what the diff compares."""
    return "".join(_line(k, v) + "\n" for k, v in policy.as_dict().items() if v is not None)


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "policy"
        out.append(f"{where}: {error['msg']}")
    return out


class InvalidPolicy(CliError):
    """A policy that does not validate; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "the policy is not valid: " + "; ".join(problems),
            ExitCode.USAGE,
            hint="nothing was pushed; `scanctl policy show EVENT --toml` shows the keys",
        )
        self.problems = problems


def policy_from_toml(text: str) -> Policy:
    """Parse and validate edited TOML; InvalidPolicy (exit 2) with every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy([f"TOML: {exc}"]) from None
    return _validated(data)


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare word: a string (mode=offline-only)


def parse_assignments(base: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """``key=value`` applied to ``base`` (values in TOML syntax; bare words are strings).

    ``key=`` resets a key to its default; ``gate_zones.main=VIP`` sets one gate's zone
    and ``gate_zones.main=`` removes it.
    """
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"{item!r} is not KEY=VALUE", ExitCode.USAGE)
        table, dot, sub = key.partition(".")
        if dot:
            mapping = data.setdefault(table, {})
            if not isinstance(mapping, dict):
                raise CliError(f"{table} is not a table; use {table}=VALUE", ExitCode.USAGE)
            if raw == "":
                mapping.pop(sub, None)
            else:
                mapping[sub] = _parse_value(raw)
        elif raw == "":
            data.pop(key, None)
        else:
            data[key] = _parse_value(raw)
    return data


def _validated(data: dict[str, Any]) -> Policy:
    from pydantic import ValidationError

    try:
        return _model().model_validate(data)
    except ValidationError as exc:
        raise InvalidPolicy(_problems(exc)) from None


def _changes(old: Policy, new: Policy) -> list[dict[str, Any]]:
    before, after = old.as_dict(), new.as_dict()
    return [
        {"key": key, "from": before[key], "to": after[key]}
        for key in _model().model_fields
        if before[key] != after[key]
    ]


def _print_diff(old: Policy, new: Policy, event_id: str, *, to_stderr: bool) -> None:
    console = stderr if to_stderr else stdout
    diff = difflib.unified_diff(
        _plain_toml(old).splitlines(),
        _plain_toml(new).splitlines(),
        fromfile=f"{event_id} (backend)",
        tofile=f"{event_id} (new)",
        lineterm="",
    )
    from rich.text import Text

    for line in diff:
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        console.print(Text(line, style=style), soft_wrap=True)


# -- backend calls --------------------------------------------------------------------


def _fetch(target: Target, event_id: str) -> tuple[dict[str, Any], Policy]:
    with backend_client(target) as backend:
        answer = backend.get_policy(event_id)
    return answer, _model().model_validate(answer["policy"])


def _push(
    target: Target,
    event_id: str,
    old: Policy,
    new: Policy,
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Show the diff, ask (unless --yes), push; the one way every command changes a policy."""
    changes = _changes(old, new)
    report: dict[str, Any] = {
        "eventId": event_id,
        "changes": changes,
        "dryRun": dry_run,
        "pushed": False,
        "policy": new.as_dict(),
    }
    if not changes:
        if as_json:
            print_json(times_only(report))
        else:
            typer.echo("no changes; nothing to push")
        return
    _print_diff(old, new, event_id, to_stderr=as_json)
    if dry_run:
        if as_json:
            print_json(times_only(report))
        else:
            typer.echo("dry run: nothing was pushed")
        return
    confirm(f"Push this policy to event {event_id}?", yes=yes, nothing_done="nothing was pushed")
    with backend_client(target) as backend:
        answer = backend.put_policy(event_id, new.as_dict())
    report["pushed"] = True
    report["policy"] = answer["policy"]
    if as_json:
        print_json(times_only(report))
    else:
        typer.echo(f"pushed the policy of event {event_id} ({len(changes)} change(s))")


# -- commands -------------------------------------------------------------------------


@app.command("show")
def show(
    event: EventArgument = None,
    as_toml: Annotated[
        bool, typer.Option("--toml", help="Print the policy as TOML (what `edit` opens).")
    ] = False,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an event's policy (the service defaults until one is set).

    JSON: the backend's answer, {"eventId", "policy": {...}, "isDefault", "updatedBy",
    "updatedAt"}.
    """
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event, flag="EVENT")
    answer, policy = _fetch(target, event_id)
    if as_json:
        print_json(times_only(answer))
        return
    if as_toml:
        typer.echo(policy_toml(policy), nl=False)
        return
    origin = "service defaults" if answer.get("isDefault") else f"set by {answer.get('updatedBy')}"
    defaults = _model()().as_dict()
    print_table(
        ["key", "value", ""],
        (
            (key, value, "" if value != defaults[key] else "default")
            for key, value in policy.as_dict().items()
        ),
        title=f"Policy of event {event_id} ({origin})",
    )


@app.command("set")
def set_keys(
    assignments: Annotated[
        list[str],
        typer.Argument(
            help="The event (optional: default the context's), then KEY=VALUE … (TOML values;"
            " KEY= resets to the default; gate_zones.GATE=ZONE).",
            show_default=False,
        ),
    ],
    template: Annotated[
        str | None,
        typer.Option("--template", help="Start from this template instead of the current policy."),
    ] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some keys of an event's policy, for scripts: validate, show the diff, push.

    Example: `scanctl policy set EVENT reentry_allowed=true max_reentries=3 --yes`.
    Exit 2 when the result is not a valid policy (nothing is pushed). JSON: {"eventId",
    "changes": [{"key", "from", "to"}], "dryRun", "pushed", "policy"}.
    """
    target = resolve(context=context, url=url, token=token)
    event_arg = assignments[0] if assignments and "=" not in assignments[0] else None
    items = assignments[1:] if event_arg else assignments
    if not items and template is None:
        raise CliError("nothing to set", ExitCode.USAGE, hint="give KEY=VALUE or --template NAME")
    event_id = target.require("event", event_arg, flag="EVENT")
    _answer, current = _fetch(target, event_id)
    base = current.as_dict()
    if template is not None:
        with backend_client(target) as backend:
            base = _validated(backend.get_policy_template(template)["policy"]).as_dict()
    new = _validated(parse_assignments(base, items))
    _push(target, event_id, current, new, dry_run=dry_run, yes=yes, as_json=as_json)


def _editor() -> list[str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


_MAX_ROUNDS = 20  # an editor script that never gets it right must not loop forever


def _edit_until_valid(path: Path, text: str) -> Policy | None:
    """Open the editor until the file holds a valid policy; None when the user cancels."""
    for round_ in range(1, _MAX_ROUNDS + 1):
        path.write_text(text, encoding="utf-8")
        command = [*_editor(), str(path)]
        try:
            result = subprocess.run(command, check=False)
        except FileNotFoundError:
            raise CliError(
                f"the editor {command[0]!r} was not found",
                ExitCode.USAGE,
                hint="set EDITOR (or VISUAL), e.g. EDITOR=nano",
            ) from None
        if result.returncode != 0:
            raise CliError(f"the editor exited with {result.returncode}; nothing was pushed")
        edited = path.read_text(encoding="utf-8")
        body = [
            line
            for line in edited.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not body:
            return None
        try:
            return policy_from_toml(edited)
        except InvalidPolicy as exc:
            if edited == text or round_ == _MAX_ROUNDS:
                # Saved unchanged with the error still on top: the user gave up.
                raise
            kept = [
                line
                for line in edited.splitlines(keepends=True)
                if not line.startswith(_ERROR_MARK)
            ]
            header = (
                "".join(f"{_ERROR_MARK} {problem}\n" for problem in exc.problems)
                + f"{_ERROR_MARK} fix the lines above, or save the file unchanged to give up\n"
            )
            text = header + "".join(kept)
    raise AssertionError("the last round returns or raises")  # pragma: no cover


@app.command("edit")
def edit(
    event: EventArgument = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Edit an event's policy as TOML in $VISUAL/$EDITOR, then validate, diff, confirm, push.

    An invalid file is reopened with the problems at the top (save it unchanged to give
    up: exit 2, nothing pushed). An emptied file cancels (exit 1). After the editor
    closes, JSON: as for `policy set`, {"eventId", "changes", "dryRun", "pushed", "policy"}.
    """
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event, flag="EVENT")
    _answer, current = _fetch(target, event_id)
    header = (
        f"# Policy of event {event_id}. Save and quit to continue: it is checked, the\n"
        "# changes are shown and you are asked before anything is pushed.\n"
        "# Remove a line to use its default; empty the file to cancel.\n"
    )
    with tempfile.TemporaryDirectory(prefix="scanctl-policy-") as tmp:
        new = _edit_until_valid(
            Path(tmp) / f"policy-{event_id}.toml", policy_toml(current, header=header)
        )
    if new is None:
        raise CliError("the file was emptied: edit cancelled, nothing was pushed")
    _push(target, event_id, current, new, dry_run=dry_run, yes=yes, as_json=as_json)


@app.command("templates")
def templates(
    name: Annotated[
        str | None,
        typer.Argument(help="Show this template in full (default: list them).", show_default=False),
    ] = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the policy templates (built in and your tenant's), or show one as TOML.

    JSON: the backend's answer, a list of (or one) {"name", "policy", "builtIn", "updatedAt"}.
    """
    target = resolve(context=context, url=url, token=token)
    with backend_client(target) as backend:
        answer: Any = backend.get_policy_template(name) if name else backend.policy_templates()
    if as_json:
        print_json(times_only(answer))
        return
    if name:
        typer.echo(policy_toml(_validated(answer["policy"])), nl=False)
        return
    defaults = _model()().as_dict()
    rows = []
    for item in answer:
        changed = {k: v for k, v in item["policy"].items() if v != defaults.get(k)}
        summary = ", ".join(
            f"{k}={toml_dumps({k: v}).partition(' = ')[2].strip() or v}" for k, v in changed.items()
        )
        rows.append((item["name"], item["builtIn"], summary or "(the defaults)"))
    print_table(["name", "built in", "differs from the defaults"], rows)
