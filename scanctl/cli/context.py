"""`scanctl context …`: named contexts (backend, tenant, venue, event, device) in a config file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scanctl.cli.common import (
    CliError,
    ContextOption,
    DryRunOption,
    JsonOption,
    print_json,
    print_table,
    resolve,
)
from scanctl.cli.config_file import (
    CONTEXT_FIELDS,
    ContextSettings,
    complete_context_names,
    config_path,
    load_config,
    save_config,
    validate_context_name,
)
from scanctl.cli.credentials import delete_token, load_token
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.output import OutputOption, QuietOption, print_ids
from scanctl.cli.times import rfc3339_or_none

__all__ = ["app"]

app = typer.Typer(
    name="context",
    help="Named contexts: which backend, tenant, venue, event and device a command acts on.",
    no_args_is_help=True,
)

NameArgument = Annotated[
    str,
    typer.Argument(
        help="The context's name.", show_default=False, autocompletion=complete_context_names
    ),
]


def _json_settings(values: dict[str, str | None]) -> dict[str, str | None]:
    """A context's settings with the camelCase keys of every JSON output."""
    return {("dataDir" if k == "data_dir" else k): v for k, v in values.items()}


@app.command("list")
def list_contexts(
    as_json: JsonOption = False, quiet: QuietOption = False, output: OutputOption = None
) -> None:
    """List the contexts; the current one is marked with '*'.

    JSON: {"current": name or null, "contexts": {name: {"url", "tenant", "venue",
    "event", "device", "dataDir"}}} (unset values are null).
    """
    config = load_config()
    if as_json:
        print_json(
            {
                "current": config.current,
                "contexts": {n: _json_settings(s.as_dict()) for n, s in config.contexts.items()},
            }
        )
        return
    if quiet:
        print_ids(sorted(config.contexts))
        return
    if not config.contexts:
        typer.echo(f"no contexts yet ({config_path()}); create one with `scanctl context set`")
        return
    print_table(
        ["", "name", "url", "tenant", "venue", "event"],
        (
            ("*" if name == config.current else "", name, s.url, s.tenant, s.venue, s.event)
            for name, s in sorted(config.contexts.items())
        ),
        output=output,
    )


@app.command("use")
def use(name: NameArgument) -> None:
    """Make NAME the current context (used when no --context or SCANCTL_CONTEXT is given)."""
    config = load_config()
    if name not in config.contexts:
        raise CliError(
            f"no context named {name!r}",
            ExitCode.USAGE,
            hint="`scanctl context list` shows them; `scanctl context set` creates one",
        )
    config.current = name
    save_config(config)
    typer.echo(f"current context: {name}")


@app.command("show")
def show(
    name: Annotated[
        str | None,
        typer.Argument(help="A context (default: the one in effect).", show_default=False),
    ] = None,
    context: ContextOption = None,
    show_token: Annotated[
        bool,
        typer.Option(
            "--show-token",
            help='Print only the token itself, for a pipe (curl -H "Authorization: Bearer …").',
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show the settings in effect and where each comes from (flag, env, context, default).

    The token itself is shown only with --show-token; otherwise only whether there is
    one and where it is kept. JSON: {"context", "url", "tenant", "venue", "event",
    "device", "dataDir", "token": {"present": bool, "source", "expiresAt"},
    "sources": {setting: source}}.
    """
    from scanctl.cli.credentials import token_expiry

    target = resolve(context=name or context)
    if show_token:
        if target.token is None:
            raise CliError(
                "no token for this context", ExitCode.NOT_AUTHORIZED, hint="`scanctl login`"
            )
        typer.echo(target.token)
        return
    expires = token_expiry(target.token) if target.token else None
    report: dict[str, Any] = {
        "context": target.context,
        "url": target.url,
        "tenant": target.tenant,
        "venue": target.venue,
        "event": target.event,
        "device": target.device,
        "dataDir": str(target.data_dir),
        "token": {
            "present": target.token is not None,
            "source": target.sources.get("token", "none"),
            "expiresAt": rfc3339_or_none(expires),
        },
        "sources": _json_settings({k: v for k, v in target.sources.items() if k != "token"}),
    }
    if as_json:
        print_json(report)
        return
    rows = [
        (key, report[key], target.sources.get(key, ""))
        for key in ("context", "url", "tenant", "venue", "event", "device")
    ]
    token = report["token"]
    state = "not set"
    if token["present"]:
        state = "set" + (f", expires {token['expiresAt']}" if token["expiresAt"] else "")
    rows.append(("data_dir", report["dataDir"], target.sources.get("data_dir", "")))
    rows.append(("token", state, token["source"]))
    print_table(["setting", "value", "from"], rows)


@app.command("set")
def set_context(
    name: NameArgument,
    url: Annotated[str | None, typer.Option("--url", help="Backend URL.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant id.")] = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Venue UUID.")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Default event UUID.")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="This machine's device id.")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Where device keys and manifests live.")
    ] = None,
    unset: Annotated[
        list[str] | None,
        typer.Option("--unset", help=f"Clear a setting (one of {', '.join(CONTEXT_FIELDS)})."),
    ] = None,
    use: Annotated[bool, typer.Option("--use", help="Also make it the current context.")] = False,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Create context NAME or change some of its settings (others stay as they are).

    The first context created becomes the current one. JSON: {"name", "created",
    "current", "dryRun", "settings": {"url", …, "dataDir"}}.
    """
    validate_context_name(name)  # ConfigFileError: exit 2
    config = load_config()
    created = name not in config.contexts
    settings = config.contexts.get(name) or ContextSettings()
    changes = {
        "url": url,
        "tenant": tenant,
        "venue": venue,
        "event": event,
        "device": device,
        "data_dir": data_dir,
    }
    values = settings.as_dict()
    values.update({k: v for k, v in changes.items() if v is not None})
    for key in unset or []:
        key = key.replace("-", "_")
        if key not in CONTEXT_FIELDS:
            raise CliError(
                f"--unset {key}: not a setting", ExitCode.USAGE, hint=", ".join(CONTEXT_FIELDS)
            )
        values[key] = None
    if values["url"] is not None and not values["url"].startswith(("http://", "https://")):
        raise CliError(
            f"--url {values['url']!r} must start with http:// or https://", ExitCode.USAGE
        )
    config.contexts[name] = ContextSettings(**values)
    if use or config.current is None:
        config.current = name
    if not dry_run:
        save_config(config)
    if as_json:
        print_json(
            {
                "name": name,
                "created": created,
                "current": config.current == name,
                "dryRun": dry_run,
                "settings": _json_settings(values),
            }
        )
        return
    verb = "would create" if dry_run and created else "would update" if dry_run else None
    verb = verb or ("created" if created else "updated")
    current = " (current)" if config.current == name else ""
    typer.echo(f"{verb} context {name}{current}")


@app.command("delete")
def delete(
    name: NameArgument,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Delete context NAME and forget its stored token.

    JSON: {"name", "deleted", "dryRun", "wasCurrent", "tokenStored", "tokenRemoved"}:
    with --dry-run nothing is deleted or removed (both false); "tokenStored" says
    whether a token would go.
    """
    config = load_config()
    if name not in config.contexts:
        raise CliError(f"no context named {name!r}", ExitCode.USAGE)
    del config.contexts[name]
    was_current = config.current == name
    if was_current:
        config.current = None
    stored = load_token(name) is not None
    removed: list[str] = []
    if not dry_run:
        save_config(config)
        removed = delete_token(name)
    if as_json:
        print_json(
            {
                "name": name,
                "deleted": not dry_run,
                "dryRun": dry_run,
                "wasCurrent": was_current,
                "tokenStored": stored,
                "tokenRemoved": bool(removed),
            }
        )
        return
    prefix = "would delete" if dry_run else "deleted"
    note = " and its token" if removed or (dry_run and stored) else ""
    typer.echo(
        f"{prefix} context {name}{note}" + (" (no current context now)" if was_current else "")
    )
