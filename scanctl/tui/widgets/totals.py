"""The door's totals: in, out, denied, inside now per zone, share of tickets in."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from scanctl.tui.model import Counts
from scanctl.tui.present import format_count

__all__ = ["TotalsBar", "totals_text"]


class TotalsBar(Static):
    """Totals for every gate shown, on one line (two where the screen is narrow)."""

    DEFAULT_CSS = """
    TotalsBar {
        height: auto;
        padding: 0 1;
        border-bottom: hkey $primary-darken-2;
    }
    """

    def show(self, counts: Counts) -> None:
        self.update(totals_text(counts))


def totals_text(counts: Counts) -> Text:
    """'✔ 2,444 in  ⇥ 12 out  ✘ 60 denied │ inside main 2,324 · vip 80 │ 12.2% of 20,000 in'.

    Exits are never counted as entries (the daemon counts both as "admitted": a lane
    that opened); inside is the daemon's count of tickets whose latest pass is an entry.
    """
    text = Text()
    text.append(f"✔ {format_count(counts.entries)} in", style="bold")
    if counts.has_exits:
        text.append(f"  ⇥ {format_count(counts.exits)} out", style="bold")
    text.append("  ")
    text.append(
        f"✘ {format_count(counts.denied)} denied", style="bold #ff6b6b" if counts.denied else "bold"
    )
    if counts.inside_capped:
        text.append("  │ inside ", style="dim")
        text.append(f"≤ {format_count(counts.inside_cap or 0)}", style="bold")
        text.append(" (in less out)", style="dim")
    elif counts.inside:
        zones = " · ".join(
            f"{zone or 'venue'} {format_count(count)}"
            for zone, count in sorted(counts.inside.items())
        )
        text.append("  │ inside ", style="dim")
        text.append(zones, style="bold")
    if counts.manifest_tickets:
        share = counts.tickets_in / counts.manifest_tickets * 100
        text.append("  │ ", style="dim")
        text.append(f"{share:.1f}% of {format_count(counts.manifest_tickets)} in")
    return text
