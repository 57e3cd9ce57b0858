"""What every `scanctl` command shares: options, context resolution, the client, output, errors.

A command that talks to the backend adopts it in four lines::

    from scanctl.cli.common import (
        ContextOption, JsonOption, TokenOption, UrlOption, backend_client, print_json, resolve,
    )

    @app.command("list")
    def list_devices(
        context: ContextOption = None, url: UrlOption = None,
        token: TokenOption = None, as_json: JsonOption = False,
    ) -> None:
        \"\"\"List the devices you may see.\"\"\"
        target = resolve(context=context, url=url, token=token)
        with backend_client(target) as backend:
            devices = backend.list_devices()
        if as_json:
            print_json(devices)
        else:
            print_table(["id", "name"], [(d["deviceId"], d["name"]) for d in devices])

Resolution, for every setting: command flag > environment (``SCANCTL_URL``,
``SCANCTL_TOKEN``, ``SCANCTL_CONTEXT``, ``SCANCTL_TENANT``, ``SCANCTL_VENUE``,
``SCANCTL_EVENT``, ``SCANCTL_DEVICE``, ``SCANCTL_DATA_DIR``) > the context (``--context``,
on the command or before it, else ``current-context``) > the default.

Errors: raise `CliError(message, ExitCode.X, hint=...)` for an expected failure and
let `scanctl.client` errors propagate. The root group (`ScanctlGroup`) catches both,
prints ``Error: …`` (and ``Hint: …``) on stderr and exits with `exit_code_for(exc)`:
the one place where failures become exit codes. Ctrl+C exits 130. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import logging
import math
import os
import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from scanctl.cli.config_file import (
    ConfigFileError,
    ContextSettings,
    complete_context_names,
    load_config,
)
from scanctl.cli.credentials import load_token, token_expiry
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.output import print_json, print_table

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from scanctl.client import ScanctlClient

# `scanctl.client` (httpx, pydantic models, the async client) is imported where it is
# used, not here: every TAB of shell completion starts `scanctl`, and it costs ~0.4 s.

__all__ = [
    "DEFAULT_URL",
    "EXPIRY_WARNING_SECONDS",
    "CliError",
    "ContextOption",
    "DryRunOption",
    "JsonOption",
    "ScanctlGroup",
    "Target",
    "TokenOption",
    "UrlOption",
    "YesOption",
    "attribute_docs",
    "backend_client",
    "check_token_expiry",
    "confirm",
    "context_name",
    "describe_error",
    "exit_code_for",
    "print_json",
    "print_table",
    "progress",
    "resolve",
    "set_root_context",
    "stderr",
    "stdout",
    "warn",
]

DEFAULT_URL = "http://127.0.0.1:3009"
EXPIRY_WARNING_SECONDS = 10 * 60
"""A token that expires sooner than this gets a warning on every command."""


ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="Named context to use (env SCANCTL_CONTEXT; default: the current context).",
        show_default=False,
        autocompletion=complete_context_names,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Backend URL (env SCANCTL_URL; default: the context's, else http://127.0.0.1:3009).",
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Bearer token (env SCANCTL_TOKEN; default: the one `scanctl login` stored). The"
        " flag lands in shell history: prefer login.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON with stable keys instead of tables.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

# stamina reports each scheduled retry through logging; with no handler configured that
# would reach stderr via logging's last resort. The CLI's error line says what matters.
logging.getLogger("stamina").addHandler(logging.NullHandler())


class _LazyConsole:
    """A rich Console made on first use: importing rich costs ~70 ms that `--help`,
    completion and most quick commands never need."""

    def __init__(self, *, to_stderr: bool) -> None:
        self._to_stderr = to_stderr
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._to_stderr, highlight=False)
        return getattr(self._console, name)


stdout: Console = _LazyConsole(to_stderr=False)  # type: ignore[assignment]
stderr: Console = _LazyConsole(to_stderr=True)  # type: ignore[assignment]

_root_context: ContextVar[str | None] = ContextVar("scanctl_root_context", default=None)


# -- errors and exit codes ------------------------------------------------------------


class CliError(Exception):
    """An expected failure: printed as ``Error: message`` (+ ``Hint: hint``), exit ``code``."""

    def __init__(
        self, message: str, code: ExitCode = ExitCode.FAILED, *, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit status a failure ends `scanctl` with. The only such mapping in the CLI."""
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        return ExitCode.INTERRUPTED
    if isinstance(exc, ConfigFileError):
        return ExitCode.USAGE
    from scanctl.client.errors import AuthError, BadRequest, Unreachable

    # Order matters: ServiceUnavailable is both Unreachable and an ApiError.
    if isinstance(exc, Unreachable):
        return ExitCode.UNREACHABLE
    if isinstance(exc, AuthError):
        return ExitCode.NOT_AUTHORIZED
    if isinstance(exc, BadRequest):  # the backend's validation (400/422): bad arguments
        return ExitCode.USAGE
    return ExitCode.FAILED


def _login_hint(target: Target | None) -> str:
    where = f" --context {target.context}" if target and target.context else ""
    return f"get a fresh token and run `scanctl login{where}` (or set SCANCTL_TOKEN)"


def describe_error(exc: BaseException) -> tuple[str, str | None]:
    """The one-line message and the hint printed for an expected failure."""
    target = _current_target.get()
    if isinstance(exc, CliError):
        return exc.message, exc.hint
    if isinstance(exc, ConfigFileError):
        return str(exc), "fix or remove the file; `scanctl context list` shows what is read"
    from scanctl.client.errors import (
        AuthError,
        BadRequest,
        Forbidden,
        NotFound,
        RateLimited,
        Unreachable,
    )

    if isinstance(exc, Unreachable):
        message = exc.message
        if not message.startswith(("cannot reach", "the backend at")):  # else it names the URL
            url = target.url if target else "the backend"
            message = f"cannot reach the backend at {url}: {message}"
        return (
            message,
            "check that it runs and the URL (`scanctl context show`, --url, SCANCTL_URL)",
        )
    if isinstance(exc, Forbidden):
        return (
            f"not allowed: {exc.message}",
            "this token's role or venue may not do this; use a token of a manager of"
            " that venue (or an ADMIN of the tenant)",
        )
    if isinstance(exc, AuthError):
        if "expired" in exc.message.lower():
            return "the token has expired", _login_hint(target)
        return f"the backend refused the token: {exc.message}", _login_hint(target)
    if isinstance(exc, BadRequest):
        fields = "; ".join(f"{e.field}: {e.message}" for e in exc.field_errors)
        return f"the backend refused the request: {fields or exc.message}", None
    if isinstance(exc, RateLimited):
        wait = "" if exc.retry_after is None else f"try again in {math.ceil(exc.retry_after)} s"
        return f"rate limited: {exc.message}", wait or None
    if isinstance(exc, NotFound):
        return f"not found: {exc.message}", "check the id (and that it is in your tenant)"
    return str(exc), None


def _expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure we report in one line (anything else is a bug)."""
    if isinstance(exc, CliError | ConfigFileError | KeyboardInterrupt | typer.Abort):
        return True
    errors = sys.modules.get("scanctl.client.errors")  # loaded if the client raised it
    return errors is not None and isinstance(exc, errors.ClientError)


class ScanctlGroup(TyperGroup):
    """The root command group: turns expected failures into one stderr line and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as exc:
            if not _expected(exc):
                raise
            code = exit_code_for(exc)
            if code is ExitCode.INTERRUPTED:
                typer.echo("", err=True)  # end the line ^C was echoed on
                typer.echo("Interrupted.", err=True)
            else:
                message, hint = describe_error(exc)
                typer.echo(f"Error: {message}", err=True)
                if hint:
                    typer.echo(f"Hint: {hint}", err=True)
            raise typer.Exit(int(code)) from None


# -- contexts ---------------------------------------------------------------------------


def set_root_context(name: str | None) -> None:
    """Remember ``scanctl --context NAME …`` (the root option) for `resolve`."""
    _root_context.set(name)


@dataclass(frozen=True)
class Target:
    """Everything a command needs to know about where it acts, and where each value came from."""

    context: str | None
    url: str
    token: str | None
    tenant: str | None
    venue: str | None
    event: str | None
    device: str | None
    data_dir: Path
    sources: dict[str, str] = field(default_factory=dict)

    def require(self, name: str, value: str | None = None, *, flag: str | None = None) -> str:
        """``value`` (a command argument) or the context's setting ``name``; exit 2 when neither."""
        if value:
            return value
        found = getattr(self, name)
        if found:
            return str(found)
        flag = flag or f"--{name}"
        raise CliError(
            f"no {name} given",
            ExitCode.USAGE,
            hint=f"pass {flag}, set SCANCTL_{name.upper()}, or"
            f" `scanctl context set {self.context or 'NAME'} --{name} …`",
        )


# The target of the running command, for error messages (which URL was unreachable).
_current_target: ContextVar[Target | None] = ContextVar("scanctl_target", default=None)


def _context_name(flag: str | None, current: str | None) -> tuple[str | None, str]:
    if flag:
        return flag, "--context"
    root = _root_context.get()
    if root:
        return root, "--context"
    env = os.environ.get("SCANCTL_CONTEXT")
    if env:
        return env, "SCANCTL_CONTEXT"
    if current:
        return current, "current-context"
    return None, "none"


def context_name(flag: str | None = None) -> str | None:
    """The context in effect: --context (command, then root) > SCANCTL_CONTEXT > current-context."""
    return _context_name(flag, load_config().current)[0]


def resolve(
    *, context: str | None = None, url: str | None = None, token: str | None = None
) -> Target:
    """Settings for this command: flag > environment > context > default, for each one."""
    config = load_config()
    name, name_source = _context_name(context, config.current)
    settings = ContextSettings()
    if name is not None:
        if name not in config.contexts:
            raise CliError(
                f"no context named {name!r} (from {name_source})",
                ExitCode.USAGE,
                hint="`scanctl context list` shows them; `scanctl context set NAME --url …`"
                " creates one",
            )
        settings = config.contexts[name]
    sources = {"context": name_source}
    values: dict[str, str | None] = {}
    for key, flag_value in (("url", url), ("token", token)):
        env = os.environ.get(f"SCANCTL_{key.upper()}")
        if flag_value:
            values[key], sources[key] = flag_value, f"--{key}"
        elif env:
            values[key], sources[key] = env, f"SCANCTL_{key.upper()}"
        else:
            values[key], sources[key] = None, "none"
    if values["url"] is None:
        if settings.url:
            values["url"], sources["url"] = settings.url, f"context {name}"
        else:
            values["url"], sources["url"] = DEFAULT_URL, "default"
    if values["token"] is None and name is not None:
        stored = load_token(name)
        if stored is not None:
            values["token"] = stored.token
            sources["token"] = "keyring" if stored.where == "keyring" else f"file {stored.where}"
    for key in ("tenant", "venue", "event", "device", "data_dir"):
        env = os.environ.get(f"SCANCTL_{key.upper()}")
        if env:
            values[key], sources[key] = env, f"SCANCTL_{key.upper()}"
        elif getattr(settings, key):
            values[key], sources[key] = getattr(settings, key), f"context {name}"
        else:
            values[key], sources[key] = None, "none"
    _check_url(str(values["url"]), sources["url"])
    data_dir = values["data_dir"]
    if data_dir is None:
        import platformdirs

        data_dir = platformdirs.user_data_dir("scanctl", appauthor=False)
        sources["data_dir"] = "default"
    target = Target(
        context=name,
        url=str(values["url"]),
        token=values["token"],
        tenant=values["tenant"],
        venue=values["venue"],
        event=values["event"],
        device=values["device"],
        data_dir=Path(data_dir).expanduser(),
        sources=sources,
    )
    _current_target.set(target)
    return target


def _check_url(url: str, source: str) -> None:
    """A backend URL must say http(s) and a host: ``scan.example.org`` alone would be
    tried as a relative path and reported as unreachable, which sends people looking
    for a network problem."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(
            f"the backend URL {url!r} (from {source}) needs http:// or https:// and a host",
            ExitCode.USAGE,
            hint=f"e.g. https://{url.split('://')[-1].lstrip('/') or 'scan.example.org'}",
        )


def confirm(question: str, *, yes: bool, nothing_done: str = "nothing was changed") -> None:
    """Go on when ``yes`` or when the answer is yes; else exit with one clear line.

    The answer may be piped (``yes | scanctl …``). When stdin ends without one (a
    script, CI, ``< /dev/null``) nobody can answer: a usage error (exit 2, "pass
    --yes"), not an interruption; Ctrl+C at a terminal stays 130. "No" is exit 1, as
    the README's table says.
    """
    if yes:
        return
    piped = not sys.stdin.isatty()
    try:
        answered = typer.confirm(question, default=False, err=True)
    except typer.Abort:
        if not piped:
            raise  # Ctrl+C at the prompt
        typer.echo("", err=True)  # nobody pressed Enter: end the prompt's line
        raise CliError(
            f"no answer to {question!r} on stdin, which is not a terminal: {nothing_done}",
            ExitCode.USAGE,
            hint="pass --yes in scripts",
        ) from None
    if piped:
        typer.echo("", err=True)
    if not answered:
        raise CliError(f"not confirmed; {nothing_done}")


def check_token_expiry(target: Target, *, now: datetime | None = None) -> None:
    """Exit 4 with a clear message on an expired JWT; warn on one about to expire."""
    if target.token is None:
        return
    expires = token_expiry(target.token)
    if expires is None:
        return
    left = (expires - (now or datetime.now(tz=UTC))).total_seconds()
    stamp = expires.strftime("%Y-%m-%d %H:%M UTC")
    if left <= 0:
        raise CliError(
            f"the token ({target.sources.get('token', 'given')}) expired at {stamp}",
            ExitCode.NOT_AUTHORIZED,
            hint=_login_hint(target),
        )
    if left < EXPIRY_WARNING_SECONDS:
        warn(f"the token expires in {int(left // 60)} min {int(left % 60)} s (at {stamp})")


def backend_client(target: Target, *, timeout: float | None = None) -> ScanctlClient:
    """The one network client of the CLI, for ``target`` (timeouts, retries, its errors)."""
    from scanctl.client import BearerToken, RetryPolicy, ScanctlClient

    check_token_expiry(target)
    _current_target.set(target)
    auth = BearerToken(target.token) if target.token else None
    # Retries apply to idempotent calls only (the client decides which); kept short for
    # a person waiting at a prompt, long enough to ride out a backend restart.
    retry = RetryPolicy(attempts=3, total=10.0, wait_initial=0.2, wait_max=2.0)
    if timeout is None:
        return ScanctlClient(target.url, auth, retry=retry)
    return ScanctlClient(target.url, auth, retry=retry, timeout=timeout)


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings under a class's attributes (enum members, model fields), by name."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):  # pragma: no cover - source not shipped
        return {}
    node = tree.body[0]
    body = node.body if isinstance(node, ast.ClassDef) else []
    docs: dict[str, str] = {}
    for item, following in itertools.pairwise(body):
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            name = item.target.id
        elif (
            isinstance(item, ast.Assign)
            and len(item.targets) == 1
            and isinstance(item.targets[0], ast.Name)
        ):
            name = item.targets[0].id
        else:
            continue
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[name] = " ".join(following.value.value.split())
    return docs


# -- output ---------------------------------------------------------------------------


def progress(description: str, *, enabled: bool = True) -> Progress:
    """A transient progress bar on stderr (stdout stays clean); hidden when not ``enabled``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True, highlight=False),
        disable=not enabled or not sys.stderr.isatty(),
        transient=True,
    )


def warn(message: str) -> None:
    """One ``Warning: …`` line on stderr."""
    typer.echo(f"Warning: {message}", err=True)
