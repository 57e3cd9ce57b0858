"""The venue's totals: admitted, denied, inside now per zone, share of tickets in."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from scanctl.tui.present import format_count

__all__ = ["TotalsBar", "totals_text"]


class TotalsBar(Static):
    """Totals for every gate of this daemon, on one or two lines."""

    DEFAULT_CSS = """
    TotalsBar {
        height: auto;
        padding: 0 1;
        border-bottom: hkey $primary-darken-2;
    }
    """

    def show(self, totals: dict[str, Any]) -> None:
        self.update(totals_text(totals))


def totals_text(totals: dict[str, Any]) -> Text:
    text = Text()
    text.append("✔ ", style="bold green")
    text.append(f"{format_count(int(totals.get('admitted', 0)))} admitted", style="bold")
    text.append("  ✘ ", style="bold red")
    text.append(f"{format_count(int(totals.get('denied', 0)))} denied", style="bold")
    inside = totals.get("inside") or {}
    if inside:
        zones = " · ".join(
            f"{zone or 'venue'} {format_count(int(count))}"
            for zone, count in sorted(inside.items())
        )
        text.append(f"  inside {zones}")
    manifest_tickets = int(totals.get("manifest_tickets", 0))
    if manifest_tickets:
        share = float(totals.get("share_in", 0.0)) * 100
        text.append(f"  in {share:.1f}% of {format_count(manifest_tickets)}")
    return text
