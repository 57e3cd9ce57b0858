"""`scanctl report EVENT`: the night's report — one self-contained HTML page and its PNG
charts — from the backend's scans, devices and conflicts (thin over scanctl.report)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from scanctl.cli.common import ContextOption, TokenOption, UrlOption, backend_client, resolve
from scanctl.cli.scans import MAX_PAGE

__all__ = ["report"]


def report(
    event: Annotated[str | None, typer.Argument(help="The event (default: the context's).")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The HTML file to write (default: report-<event>.html)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written and the main figures.")
    ] = False,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Build the night's report of an event (needs a manager or admin token): the entry
    curve per gate and per zone (per minute), peak throughput, denials by reason over
    time, conflicts, offline periods and re-entries, as one HTML file with its charts
    embedded; the charts also as PNG files in <out>-charts/.

    JSON: {"html", "charts": [paths], "scans", "entries", "reentries", "exits",
    "denied", "conflicts", "offlinePeriods"}.
    """
    from scanctl.client import ApiError
    from scanctl.report import build_report

    target = resolve(context=context, url=url, token=token)
    event_id = target.require("event", event)
    with backend_client(target) as backend:
        scans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = backend.scans_page(event_id, limit=MAX_PAGE, cursor=cursor)
            scans += page.scans
            cursor = page.next
            if cursor is None or not page.scans:
                break
        zones = {
            str(d.get("deviceId") or d.get("id")): str(d["zone"])
            for d in backend.list_devices()
            if d.get("zone")
        }
        conflicts = backend.list_conflicts(event_id)
        try:
            facts: dict[str, Any] = backend.get_event(event_id)
        except ApiError:  # an upstream event service's event: its id will do as a title
            facts = {}
    built = build_report(
        {**facts, "id": event_id},
        scans,
        zones=zones,
        conflicts=conflicts,
        generated_at=datetime.now(UTC),
    )
    html_path = out or Path(f"report-{event_id}.html")
    html_path.write_text(built.html, encoding="utf-8")
    chart_dir = html_path.with_name(f"{html_path.stem}-charts")
    chart_dir.mkdir(exist_ok=True)
    charts = []
    for name, png in built.charts.items():
        path = chart_dir / f"{name}.png"
        path.write_bytes(png)
        charts.append(str(path))
    night = built.night
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "html": str(html_path),
                    "charts": charts,
                    "scans": night.scans,
                    "entries": night.entries,
                    "reentries": night.reentries,
                    "exits": night.exits,
                    "denied": night.denied,
                    "conflicts": len(night.conflicts),
                    "offlinePeriods": len(night.offline),
                },
                indent=2,
            )
        )
    else:
        typer.echo(
            f"{html_path}: {night.scans} scans, {night.entries} entries, "
            f"{night.denied} denied; charts in {chart_dir}/"
        )
