"""How commands print data: rich tables for people, tab-separated rows for pipes, JSON.

A table is for the person at a terminal. When stdout is not a terminal (``| awk``,
``> file``) the same rows come out as tab-separated lines, one per row, with a header
line and nothing truncated: a UUID that rich would fold to ``66117972-73…`` is what
``cut -f1`` gets. ``--output table|tsv`` (on list commands, or ``scanctl --output``)
chooses explicitly; ``-q`` prints the ids alone, one per line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from enum import StrEnum
from typing import Annotated, Any

import typer

__all__ = [
    "OutputFormat",
    "OutputOption",
    "QuietOption",
    "cell",
    "print_ids",
    "print_json",
    "print_table",
    "set_output",
]


class OutputFormat(StrEnum):
    """How tables print: ``auto`` is a table on a terminal and ``tsv`` elsewhere."""

    AUTO = "auto"
    TABLE = "table"
    TSV = "tsv"


OutputOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="table (rich), tsv (tab-separated, untruncated) or auto: a table on a terminal,"
        " tsv in a pipe.",
        show_default=False,
        case_sensitive=False,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the ids, one per line.")
]

_root_output: ContextVar[OutputFormat | None] = ContextVar("scanctl_output", default=None)


def set_output(value: OutputFormat | None) -> None:
    """Remember ``scanctl --output X …`` (the root option) for every table of the command."""
    _root_output.set(value)


def print_json(data: Any) -> None:
    """JSON for scripts: sorted keys, two-space indent, UTF-8, one document on stdout."""
    typer.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str))


def cell(value: Any) -> str:
    """One value as a table shows it: None as '-', booleans as yes/no, lists as JSON."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _tsv_field(value: Any) -> str:
    # A tab or newline inside a value would shift every later column of the line.
    return cell(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _mode(output: OutputFormat | None) -> OutputFormat:
    chosen = output or _root_output.get() or OutputFormat.AUTO
    if chosen is OutputFormat.AUTO:
        return OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.TSV
    return chosen


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    output: OutputFormat | None = None,
) -> None:
    """A rich table on a terminal; tab-separated lines (header first) otherwise."""
    if _mode(output) is OutputFormat.TSV:
        if any(columns):
            typer.echo("\t".join(columns))
        for row in rows:  # line by line: a long export streams
            typer.echo("\t".join(_tsv_field(v) for v in row))
        return
    from rich.table import Table

    from scanctl.cli.common import stdout

    table = Table(title=title, title_justify="left")
    for column in columns:  # folded, never cut to "…": an id must stay whole
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    stdout.print(table)


def print_ids(ids: Iterable[Any]) -> None:
    """``-q``: the ids alone, one per line (for ``xargs``)."""
    for value in ids:
        typer.echo(str(value))
