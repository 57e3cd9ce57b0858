"""`scanctl scans list`: the recorded scans of an event (managers), oldest recorded first.

An export follows the API's ``next`` cursor: ``--all`` walks every page, ``--limit N``
stops after N scans, and both write as the pages arrive (ndjson and csv line by line),
so an event of a million scans never sits in memory. The cursor of what was not
printed goes into the JSON document (``next``) or, for the line formats, to stderr,
for the next call's ``--cursor``.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.common import (
    ContextOption,
    TokenOption,
    UrlOption,
    backend_client,
    resolve,
    warn,
)
from scanctl.cli.export import SCAN_FIELDS, write_csv, write_json, write_ndjson
from scanctl.cli.output import OutputOption, QuietOption, print_ids, print_table
from scanctl.cli.times import TIME_FORMS, moment_option, rfc3339_or_none

if TYPE_CHECKING:
    from scanctl.client import ScanctlClient

__all__ = ["MAX_PAGE", "ExportFormat", "app"]

MAX_PAGE = 1000
"""The API's largest page (``limit`` ≤ 1000)."""

app = typer.Typer(help="Recorded scans, admitted and denied.", no_args_is_help=True)


class ExportFormat(StrEnum):
    """What `scans list` writes."""

    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


def _scan_out(scan: dict[str, Any]) -> dict[str, Any]:
    """One scan as the CLI prints it: the API's keys, times as RFC 3339 UTC with ``Z``."""
    out = {key: scan.get(key) for key in SCAN_FIELDS}
    for key in ("scannedAt", "recordedAt"):
        out[key] = rfc3339_or_none(out[key])
    return out


class _Pages:
    """The scans of ``--limit``/``--all``, fetched page by page; ``next`` once exhausted."""

    def __init__(
        self,
        backend: ScanctlClient,
        event_id: str,
        *,
        since: str | None,
        cursor: str | None,
        limit: int | None,
        follow: bool,
        page_size: int,
    ) -> None:
        self._backend = backend
        self._event_id = event_id
        self._since = since
        self.next = cursor
        self._left = limit
        self._follow = follow
        self._page_size = page_size

    def __iter__(self) -> Iterator[dict[str, Any]]:
        first = True
        while first or (self._follow and self.next is not None):
            if self._left is not None and self._left <= 0:
                return
            size: int | None = self._page_size if self._follow else None
            if self._left is not None:
                size = min(self._left, self._page_size)
            page = self._backend.scans_page(
                self._event_id, since=self._since, limit=size, cursor=self.next
            )
            first = False
            self.next = page.next
            for scan in page.scans:
                yield _scan_out(scan)
            if self._left is not None:
                self._left -= len(page.scans)
            if not page.scans:
                self.next = None


@app.command("list")
def list_scans(
    event: Annotated[
        str | None,
        typer.Option("--event", help="The event (default: the context's)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help=f"Only scans recorded at or after this moment: {TIME_FORMS}.",
            callback=moment_option("--since"),
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="At most this many scans (following the cursor)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every scan: follow the `next` cursor to the end.")
    ] = False,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", help="Continue after this cursor (a previous `next`)."),
    ] = None,
    page_size: Annotated[
        int,
        typer.Option("--page-size", min=1, max=MAX_PAGE, help="Scans asked for per request."),
    ] = MAX_PAGE,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table, json (one document), ndjson (one scan per line) or csv (header"
            " line first).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The same as --format json.")] = False,
    quiet: QuietOption = False,
    output: OutputOption = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List an event's scans, oldest recorded first (needs a manager or admin token).

    Without --all or --limit: the first page (100 scans) and, when there are more, the
    cursor to continue with. JSON: {"scans": [{"id", "eventId", "ticketId", "deviceId",
    "gate", "direction", "raw", "reason", "allowed", "decidedBy", "scannedAt",
    "recordedAt", "late"}], "next": cursor or null}. ndjson and csv: one scan per line
    with the same keys (csv: those columns).
    """
    chosen = ExportFormat.JSON if as_json else (fmt or ExportFormat.TABLE)
    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event)
    with backend_client(target) as backend:
        pages = _Pages(
            backend,
            event_id,
            since=since,
            cursor=cursor,
            limit=limit,
            follow=every or limit is not None,
            page_size=page_size,
        )
        if quiet:
            print_ids(scan["id"] for scan in pages)
        elif chosen is ExportFormat.JSON:
            write_json("scans", pages, lambda: pages.next)
            return
        elif chosen is ExportFormat.NDJSON:
            write_ndjson(pages)
        elif chosen is ExportFormat.CSV:
            write_csv(SCAN_FIELDS, pages)
        else:
            print_table(
                ["recorded", "ticket", "reason", "gate", "device", "by", "id"],
                (
                    (
                        s["recordedAt"],
                        s["ticketId"],
                        s["reason"],
                        s["gate"],
                        s["deviceId"],
                        s["decidedBy"],
                        s["id"],
                    )
                    for s in pages
                ),
                output=output,
            )
    if pages.next is not None:
        warn(f"more scans follow: --all for every one, or --cursor {pages.next}")
