"""The report as one self-contained HTML page: the figures as tables (each number marked
with ``data-figure`` so a test or a script can read it back) and the charts embedded as
PNG data. Nothing is loaded from elsewhere: the file can be mailed or archived."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanctl.report.charts import CHARTS, draw_charts
from scanctl.report.figures import Night, night_from_scans

__all__ = ["Report", "build_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.summary td { font-size: 1.3em; font-weight: bold; }
img { max-width: 100%; }
"""


@dataclass(frozen=True)
class Report:
    html: str
    charts: dict[str, bytes]
    night: Night


def build_report(
    event: dict[str, Any],
    scans: list[dict[str, Any]],
    *,
    zones: dict[str, str] | None = None,
    conflicts: list[dict[str, Any]] | None = None,
    generated_at: datetime,
) -> Report:
    """``event``: its id and, when known, name, startsAt and endsAt."""
    night = night_from_scans(scans, zones=zones, conflicts=conflicts)
    charts = draw_charts(night)
    return Report(_page(event, night, charts, generated_at), charts, night)


def _fig(key: str, value: object) -> str:
    return f'<td data-figure="{html.escape(key)}">{html.escape(str(value))}</td>'


def _hhmm(minute: datetime | None) -> str:
    return "—" if minute is None else minute.strftime("%H:%M")


def _page(event: dict[str, Any], night: Night, charts: dict[str, bytes], at: datetime) -> str:
    name = html.escape(str(event.get("name") or event["id"]))
    peak, peak_at = night.peak()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Night report: {name}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Night report: {name}</h1>",
        f"<p class='sub'>event {html.escape(str(event['id']))} · times in UTC · generated "
        f"{at.strftime('%Y-%m-%d %H:%M')} UTC from {night.scans} recorded scans</p>",
        "<table class='summary'><tr><th>entries</th><th>of which re-entries</th><th>exits"
        "</th><th>denied</th><th>tickets in</th><th>peak per minute</th><th>conflicts</th>"
        "<th>offline periods</th></tr><tr>",
        _fig("entries", night.entries),
        _fig("reentries", night.reentries),
        _fig("exits", night.exits),
        _fig("denied", night.denied),
        _fig("tickets-in", night.tickets_in),
        _fig("peak", f"{peak} at {_hhmm(peak_at)}"),
        _fig("conflicts", len(night.conflicts)),
        _fig("offline-periods", len(night.offline)),
        "</tr></table>",
    ]
    for key, title in CHARTS.items():
        data = base64.b64encode(charts[key]).decode("ascii")
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>")
    parts += _peaks(night)
    parts += _curve(night)
    parts += _denials(night)
    parts += _conflicts(night)
    parts += _offline(night)
    parts.append("</body></html>")
    return "\n".join(parts)


def _peaks(night: Night) -> list[str]:
    rows = [
        "<h2>Peak throughput and re-entries by gate</h2><table>",
        "<tr><th>gate</th><th>entries</th><th>peak per minute</th><th>at</th>"
        "<th>re-entries</th></tr>",
    ]
    for gate in sorted(night.entries_by_gate):
        peak, at = night.peak(gate)
        rows.append(
            f"<tr><td>{html.escape(gate)}</td>"
            + _fig(f"entries@gate:{gate}", sum(night.entries_by_gate[gate].values()))
            + _fig(f"peak@gate:{gate}", peak)
            + _fig(f"peak-at@gate:{gate}", _hhmm(at))
            + _fig(f"reentries@gate:{gate}", night.reentries_by_gate[gate])
            + "</tr>"
        )
    return [*rows, "</table>"]


def _curve(night: Night) -> list[str]:
    """The entry curve as numbers: one row a minute, a column a gate and a zone."""
    gates, zones = sorted(night.entries_by_gate), sorted(night.entries_by_zone)
    head = "".join(f"<th>{html.escape(g)}</th>" for g in gates)
    head += "".join(f"<th>zone {html.escape(z)}</th>" for z in zones)
    rows = ["<h2>Entries per minute</h2><table>", f"<tr><th>minute (UTC)</th>{head}</tr>"]
    for minute in night.minutes:
        stamp = minute.strftime("%Y-%m-%dT%H:%MZ")
        cells = "".join(
            _fig(f"entries@gate:{g}@{stamp}", night.entries_by_gate[g][minute]) for g in gates
        )
        cells += "".join(
            _fig(f"entries@zone:{z}@{stamp}", night.entries_by_zone[z][minute]) for z in zones
        )
        rows.append(f"<tr><td>{minute.strftime('%H:%M')}</td>{cells}</tr>")
    return [*rows, "</table>"]


def _denials(night: Night) -> list[str]:
    rows = ["<h2>Denials by reason</h2><table>", "<tr><th>reason</th><th>scans</th></tr>"]
    for reason, count in night.denials_total().most_common():
        rows.append(
            f"<tr><td>{html.escape(reason)}</td>{_fig(f'denied@reason:{reason}', count)}</tr>"
        )
    return [*rows, "</table>"]


def _conflicts(night: Night) -> list[str]:
    rows = [
        "<h2>Conflicts (double entries)</h2><table>",
        "<tr><th>ticket</th><th>kind</th><th>gates</th></tr>",
    ]
    for conflict in night.conflicts:
        gates = ", ".join(str(a.get("gate") or "?") for a in conflict.get("admissions") or [])
        rows.append(
            f"<tr><td>{html.escape(str(conflict.get('ticketId')))}</td>"
            f"<td>{html.escape(str(conflict.get('kind')))}</td><td>{html.escape(gates)}</td></tr>"
        )
    return [*rows, "</table>"]


def _offline(night: Night) -> list[str]:
    rows = [
        "<h2>Offline periods (gates deciding without the backend)</h2><table>",
        "<tr><th>gate</th><th>device</th><th>from</th><th>to</th><th>scans</th></tr>",
    ]
    for period in night.offline:
        rows.append(
            f"<tr><td>{html.escape(period.gate)}</td><td>{html.escape(period.device[:8])}</td>"
            f"<td>{period.start.strftime('%H:%M:%S')}</td><td>{period.end.strftime('%H:%M:%S')}"
            f"</td>{_fig(f'offline-scans@{period.device}@{period.start:%H:%M:%S}', period.scans)}"
            "</tr>"
        )
    return [*rows, "</table>"]
