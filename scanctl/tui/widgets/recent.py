"""The last decisions at every gate, newest on top: a live ticker for big screens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from itertools import islice
from typing import Any

from rich.table import Table
from textual.widgets import Static

from scanctl.tui.present import format_time, reason_text

__all__ = ["RecentDecisions"]


class RecentDecisions(Static):
    """As many recent decisions as fit; hidden where the screen is narrow."""

    DEFAULT_CSS = """
    RecentDecisions {
        height: 1fr;
        border: round $primary-darken-2;
        border-title-style: bold;
        padding: 0 1;
    }
    """

    def on_mount(self) -> None:
        self.border_title = "Latest decisions"

    def show(self, rows: Iterable[dict[str, Any]], tz: tzinfo | None) -> None:
        if not self.display:
            return
        fits = max(1, self.content_size.height - 1)
        table = Table.grid(padding=(0, 2), expand=True)
        for name, ratio in (("time", None), ("gate", None), ("scanner", None), ("ticket", None)):
            table.add_column(name, no_wrap=True, ratio=ratio)
        table.add_column("decision", ratio=1, no_wrap=True)
        for row in islice(rows, fits):
            table.add_row(
                format_time(row.get("scanned_at_ms"), tz),
                str(row.get("gate") or ""),
                str(row.get("scanner") or ""),
                str(row.get("ticket_id") or "—"),
                reason_text(
                    str(row.get("reason")), allowed=row.get("allowed"), warning=row.get("warning")
                ),
            )
        self.update(table)
