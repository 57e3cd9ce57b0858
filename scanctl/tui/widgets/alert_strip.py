"""The alerts nobody acknowledged yet, on the main screen: critical ones first, in words."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from scanctl.tui.present import alert_badge, alert_label

__all__ = ["AlertStrip", "alert_lines"]


class AlertStrip(Static):
    """Up to ``lines`` alerts, one a line; hidden when there is none to acknowledge."""

    DEFAULT_CSS = """
    AlertStrip {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    lines = 2

    def show(self, pressing: list[dict[str, Any]]) -> None:
        self.display = bool(pressing)
        if pressing:
            self.update(alert_lines(pressing, self.lines))


def alert_lines(pressing: list[dict[str, Any]], lines: int) -> Text:
    """One line per alert; when more wait than fit, the last line says how many more."""
    shown = pressing if len(pressing) <= lines else pressing[: max(1, lines - 1)]
    text = Text()
    for index, alert in enumerate(shown):
        if index:
            text.append("\n")
        text.append_text(alert_badge(alert))
        text.append(f" {alert_label(alert)}: ", style="bold")
        text.append(str(alert.get("message") or ""))
    more = len(pressing) - len(shown)
    if more:
        text.append(f"\n+{more} more alert{'s' if more != 1 else ''} waiting", style="bold")
    text.append("   3: alerts, k acknowledges", style="dim")
    return text
