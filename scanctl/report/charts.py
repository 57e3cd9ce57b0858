"""The report's pictures, drawn with matplotlib (Agg: no display needed) as PNG bytes."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # before pyplot: a report is drawn on servers and in CI too

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from scanctl.report.figures import Night

__all__ = ["CHARTS", "draw_charts"]

CHARTS = {
    "entries-by-gate": "Entries per minute, by gate",
    "entries-by-zone": "Entries per minute, by zone",
    "denials-by-reason": "Denials per minute, by reason",
}


def draw_charts(night: Night) -> dict[str, bytes]:
    """Chart name (``CHARTS``) → PNG bytes."""
    minutes = night.minutes
    return {
        "entries-by-gate": _lines(CHARTS["entries-by-gate"], minutes, night.entries_by_gate),
        "entries-by-zone": _lines(CHARTS["entries-by-zone"], minutes, night.entries_by_zone),
        "denials-by-reason": _stacked(
            CHARTS["denials-by-reason"], minutes, night.denials_by_reason
        ),
    }


def _figure(title: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=(10, 3.6), dpi=100, layout="constrained")
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold")
    axes.grid(axis="y", alpha=0.3)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    axes.set_ylabel("per minute")
    return figure, axes


def _lines(title: str, minutes: list[datetime], series: dict[str, Counter[datetime]]) -> bytes:
    figure, axes = _figure(title)
    for name in sorted(series):
        axes.plot(
            _x(minutes), [series[name][m] for m in minutes], label=name, drawstyle="steps-post"
        )
    _finish(axes, bool(series))
    return _png(figure)


def _stacked(title: str, minutes: list[datetime], series: dict[str, Counter[datetime]]) -> bytes:
    figure, axes = _figure(title)
    bottom = [0] * len(minutes)
    width = 1 / 24 / 60 * 0.9  # 0.9 of a minute, in days (matplotlib's date unit)
    for name in sorted(series, key=lambda r: -sum(series[r].values())):
        heights = [series[name][m] for m in minutes]
        axes.bar(_x(minutes), heights, width=width, bottom=bottom, label=name)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _finish(axes, bool(series))
    return _png(figure)


def _x(minutes: list[datetime]) -> list[float]:
    """Minutes as matplotlib's date numbers (days since its epoch)."""
    return [float(mdates.date2num(minute)) for minute in minutes]  # type: ignore[no-untyped-call]


def _finish(axes: Axes, any_data: bool) -> None:
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # people, not fractions
    if any_data:
        axes.legend(loc="upper left", fontsize=9, ncols=4, frameon=False)
    else:
        axes.text(0.5, 0.5, "none", transform=axes.transAxes, ha="center", color="grey")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
