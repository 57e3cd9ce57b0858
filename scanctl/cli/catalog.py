"""`scanctl catalog …`: create events and import tickets from CSV or JSON into the backend.

An import is all or nothing as far as a file can be: every row is validated first
(line-numbered errors, nothing sent when one is bad), then tickets go up in chunks of
at most 10,000. The backend's upsert is idempotent, so re-running an import after a
failed chunk completes it without duplicating anything.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.common import (
    CliError,
    ContextOption,
    JsonOption,
    TokenOption,
    UrlOption,
    backend_client,
    describe_error,
    exit_code_for,
    print_json,
    print_table,
    progress,
    resolve,
)
from scanctl.cli.contract import to_contract
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.output import OutputOption, QuietOption, print_ids
from scanctl.cli.times import TIME_FORMS, moment_option

if TYPE_CHECKING:
    from scanctl.backend.api.models import TicketIn

__all__ = ["ImportProblems", "app", "read_tickets"]

app = typer.Typer(
    name="catalog",
    help="The backend's own catalog: events and their tickets.",
    no_args_is_help=True,
)

_MAX_ERRORS_SHOWN = 50
# CSV headers accepted for each field (compared lower-case, without "_" and "-").
_CSV_FIELDS = {
    "id": "id",
    "ticketid": "id",
    "status": "status",
    "zones": "zones",
    "validfrom": "validFrom",
    "validuntil": "validUntil",
    "transferredto": "transferredTo",
    "statichash": "staticHash",
}

# Uploads of up to 4 MiB: each network wait may take longer than the client's default.
_UPLOAD_TIMEOUT = 60.0


@dataclass
class ImportProblems(Exception):
    """Rows that failed validation, each as `FILE:LINE: problem`."""

    lines: list[str]


def _normalise(header: str) -> str:
    return header.strip().lower().replace("_", "").replace("-", "")


def _csv_rows(path: Path | str, text: str) -> list[tuple[str, dict[str, Any]]]:
    rows: list[tuple[str, dict[str, Any]]] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        raise ImportProblems([f"{path}:1: the file is empty"])
    fields = []
    unknown = []
    for name in header:
        field = _CSV_FIELDS.get(_normalise(name))
        if field is None:
            unknown.append(name)
        fields.append(field)
    if unknown:
        raise ImportProblems([f"{path}:1: unknown column(s): {', '.join(unknown)}"])
    if "id" not in fields:
        raise ImportProblems([f"{path}:1: no id column"])
    for values in reader:
        where = f"{path}:{reader.line_num}"
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(fields):
            rows.append((where, {"__columns__": (len(values), len(fields))}))
            continue
        row: dict[str, Any] = {}
        for field, value in zip(fields, values, strict=True):
            value = value.strip()
            if field is None or value == "":
                continue
            if field == "zones":
                row[field] = [z.strip() for z in value.replace("|", ";").split(";") if z.strip()]
            else:
                row[field] = value
        rows.append((where, row))
    return rows


def _json_rows(path: Path | str, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImportProblems([f"{path}: not valid JSON: {exc}"]) from None
    if isinstance(data, dict) and set(data) == {"tickets"}:
        data = data["tickets"]
    if not isinstance(data, list):
        raise ImportProblems([f'{path}: expected a list of tickets or {{"tickets": [...]}}'])
    return [(f"{path}: item {index}", item) for index, item in enumerate(data, start=1)]


STDIN = "<stdin>"
"""How problems name the standard input (``catalog import -``)."""


def _sniff(text: str) -> str:
    """``json`` when the text starts like a JSON document, else ``csv``."""
    return "json" if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{") else "csv"


def read_tickets(
    path: Path | str, *, text: str | None = None, kind: str | None = None
) -> list[TicketIn]:
    """Every ticket of a CSV or JSON file, validated; ImportProblems lists every bad row.

    ``text`` is the content when it did not come from a file (standard input); its
    ``kind`` (csv or json) is then given or recognised from the first character.
    """
    # The API's own models validate the rows; imported here to keep `scanctl --help` quick.
    from pydantic import ValidationError

    from scanctl.backend.api.models import TicketIn

    if text is None:
        path = Path(path)
        kind = kind or path.suffix.lower().lstrip(".")
        if kind not in ("csv", "json"):
            raise ImportProblems([f"{path}: give a .csv or .json file (or --format)"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ImportProblems([f"{path}: cannot be read: {exc.strerror}"]) from None
        except UnicodeDecodeError as exc:
            raise ImportProblems([f"{path}: not UTF-8 text: {exc}"]) from None
    kind = kind or _sniff(text)
    rows = _csv_rows(path, text) if kind == "csv" else _json_rows(path, text)
    tickets: list[TicketIn] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    for where, row in rows:
        if not isinstance(row, dict):
            problems.append(f"{where}: expected an object")
            continue
        if "__columns__" in row:
            got, want = row["__columns__"]
            problems.append(f"{where}: {got} values for {want} columns")
            continue
        try:
            ticket = TicketIn.model_validate(row)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "row"
                problems.append(f"{where}: {field}: {error['msg']}")
            continue
        if ticket.id in first_seen:
            problems.append(
                f"{where}: ticket {ticket.id} already appears at {first_seen[ticket.id]}"
            )
            continue
        first_seen[ticket.id] = where
        tickets.append(ticket)
    if problems:
        raise ImportProblems(problems)
    if not tickets:
        raise ImportProblems([f"{path}: no tickets in the file"])
    return tickets


_MAX_REQUEST_BYTES = 4 * 1024 * 1024  # half the backend's default body limit


def _request_bodies(tickets: list[TicketIn], max_count: int) -> list[dict[str, Any]]:
    """Upload bodies of at most ``max_count`` tickets and about 4 MiB each, in file order."""
    bodies: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for ticket in tickets:
        item = ticket.model_dump(mode="json", by_alias=True, exclude_none=True)
        item_size = len(json.dumps(item)) + 2
        if current and (len(current) >= max_count or size + item_size > _MAX_REQUEST_BYTES):
            bodies.append({"tickets": current})
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        bodies.append({"tickets": current})
    return bodies


def _event_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise CliError("--event must be a UUID", ExitCode.USAGE) from None


@app.command("import")
def import_tickets(
    file: Annotated[
        str,
        typer.Argument(help="A .csv (header row) or .json file of tickets; - reads stdin."),
    ],
    event: str | None = typer.Option(
        None, "--event", help="The event's UUID (it must exist; default: the context's)."
    ),
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="csv or json (default: the file's suffix; on stdin, recognised).",
            show_default=False,
        ),
    ] = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate every row, then upsert the tickets in chunks of at most 10,000.

    CSV columns: id, status, zones (separated by ';'), validFrom, validUntil (ISO 8601
    with timezone), transferredTo, staticHash. Bad rows are listed with their line and
    nothing is sent (exit 2). Re-running an import is safe: unchanged tickets stay as they are.

    JSON: {"event", "tickets", "chunks", "created", "updated", "unchanged", "sequence"}.
    """
    from scanctl.backend.api.models import MAX_TICKETS_PER_CALL

    target = resolve(context=context, url=url, token=token)
    if event is None and target.event is None:
        raise CliError(
            "which event? pass --event (or set one in the context)",
            ExitCode.USAGE,
            hint="`scanctl context set NAME --event UUID` keeps it for every command",
        )
    event_id = _event_id(event or str(target.event))
    if fmt is not None and fmt.lower() not in ("csv", "json"):
        raise CliError("--format must be csv or json", ExitCode.USAGE)
    kind = fmt.lower() if fmt else None
    try:
        if file == "-":
            tickets = read_tickets(STDIN, text=sys.stdin.read(), kind=kind)
        else:
            tickets = read_tickets(Path(file), kind=kind)
    except ImportProblems as exc:
        shown = exc.lines[:_MAX_ERRORS_SHOWN]
        for line in shown:
            typer.echo(line, err=True)
        if len(exc.lines) > len(shown):
            typer.echo(f"… and {len(exc.lines) - len(shown)} more problems", err=True)
        raise CliError(
            f"{len(exc.lines)} problem(s); nothing was imported", ExitCode.USAGE
        ) from None
    from scanctl.client import ClientError

    totals = {"created": 0, "updated": 0, "unchanged": 0, "sequence": 0}
    chunks = 0
    bar = progress("uploading", enabled=not as_json and len(tickets) > MAX_TICKETS_PER_CALL)
    task = bar.add_task("tickets", total=len(tickets))
    with bar, backend_client(target, timeout=_UPLOAD_TIMEOUT) as backend:
        sent = 0
        for body in _request_bodies(tickets, MAX_TICKETS_PER_CALL):
            try:
                result = backend.upsert_tickets(event_id, body["tickets"])
            except ClientError as exc:
                if not sent:
                    raise
                # Same message and exit code as any failure, plus how to finish the import.
                message, hint = describe_error(exc)
                raise CliError(
                    f"{message} ({sent} tickets were sent before)",
                    exit_code_for(exc),
                    hint=hint or "re-run the import to complete it (it is idempotent)",
                ) from None
            chunks += 1
            sent += len(body["tickets"])
            bar.advance(task, len(body["tickets"]))
            for key in ("created", "updated", "unchanged"):
                totals[key] += int(result[key])
            totals["sequence"] = int(result["sequence"])
    summary = {"event": event_id, "tickets": len(tickets), "chunks": chunks, **totals}
    if as_json:
        print_json(summary)
        return
    keys = ("created", "updated", "unchanged", "sequence")
    print_table(
        keys, [[totals[k] for k in keys]], title=f"Imported {len(tickets)} tickets into {event_id}"
    )


@app.command("add-event")
def add_event(
    event_id: str = typer.Option(..., "--id", help="The event's UUID."),
    venue: str = typer.Option(..., "--venue", help="The venue's UUID."),
    name: str = typer.Option(..., "--name", help="Display name."),
    starts_at: str = typer.Option(
        ...,
        "--starts-at",
        help=f"When doors may open: {TIME_FORMS}.",
        callback=moment_option("--starts-at"),
    ),
    ends_at: str = typer.Option(
        ..., "--ends-at", help=f"When it ends: {TIME_FORMS}.", callback=moment_option("--ends-at")
    ),
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an event (or update its name and times).

    JSON: {"id", "venueId", "name", "startsAt", "endsAt", "ticketSequence", "createdAt",
    "updatedAt"}.
    """
    from pydantic import ValidationError

    from scanctl.backend.api.models import EventIn

    try:
        body = EventIn.model_validate(
            {
                "id": event_id,
                "venueId": venue,
                "name": name,
                "startsAt": starts_at,
                "endsAt": ends_at,
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}", err=True)
        raise CliError("the event is not valid", ExitCode.USAGE) from None
    target = resolve(context=context, url=url, token=token)
    with backend_client(target) as backend:
        result = backend.create_event(body.model_dump(mode="json", by_alias=True))
    if as_json:
        print_json(to_contract(result))
    else:
        typer.echo(f"event {result['id']} ({result['name']}) at venue {result['venueId']}")


@app.command("events")
def list_events(
    venue: str | None = typer.Option(None, "--venue", help="Only this venue's events."),
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    output: OutputOption = None,
) -> None:
    """List the events you may see.

    JSON: a list of {"id", "venueId", "name", "startsAt", "endsAt", "ticketSequence",
    "createdAt", "updatedAt"}.
    """
    target = resolve(context=context, url=url, token=token)
    with backend_client(target) as backend:
        result = backend.list_events(venue_id=venue)
    if as_json:
        print_json(to_contract(result))
        return
    if quiet:
        print_ids(item["id"] for item in result)
        return
    print_table(
        ["id", "venue", "name", "starts", "ends", "tickets seq"],
        (
            (
                item["id"],
                item["venueId"],
                item["name"],
                _short(item["startsAt"]),
                _short(item["endsAt"]),
                item["ticketSequence"],
            )
            for item in result
        ),
        output=output,
    )


def _short(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %Z")
