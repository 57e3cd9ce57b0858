"""Alerts: what needs the supervisor, each through its life: raised, cleared by itself,
acknowledged (by whom, when). Unacknowledged ones first; ``k`` acknowledges."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from scanctl.tui.model import DoorState
from scanctl.tui.present import (
    ALERT_KINDS,
    alert_ack,
    alert_badge,
    alert_label,
    alert_where,
    format_time,
)
from scanctl.tui.screens.review import ReviewScreen

__all__ = ["AlertsScreen"]


class AlertsScreen(ReviewScreen):
    """The daemon's alerts; acknowledging one keeps it listed, quiet, with who did."""

    NAME = "alert"
    COLUMNS = (
        ("State", 12),
        ("What", 17),
        ("Where", 9),
        ("Since", 8),
        ("Acknowledged", 16),
        ("Message", None),
    )

    def items(self, state: DoorState) -> list[dict[str, Any]]:
        return state.alert_list(by_urgency=True)

    def summary(self, state: DoorState, items: list[dict[str, Any]]) -> Text:
        text = Text()
        if not items:
            return text.append("✔ No alerts", style="bold green")
        text.append(f"{len(items)} alert{'s' if len(items) != 1 else ''}", style="bold")
        waiting = len(state.unacknowledged())
        if waiting:
            text.append(f"   ⚠ {waiting} waiting for acknowledgement", style="bold red")
        else:
            text.append("   all acknowledged", style="dim")
        return text

    def row(self, item: dict[str, Any]) -> tuple[Text | str, ...]:
        tz = self.door.source.tz
        kind = str(item.get("kind"))
        return (
            alert_badge(item),
            ALERT_KINDS.get(kind, kind),
            alert_where(item),
            format_time(item.get("at_ms"), tz),
            alert_ack(item, tz),
            str(item.get("message") or ""),
        )

    def detail(self, item: dict[str, Any]) -> Text:
        """The selected alert in full (a narrow screen cuts the message), and its life."""
        tz = self.door.source.tz
        text = alert_badge(item)
        text.append(f" {alert_label(item)}: ")
        text.append(str(item.get("message") or ""), style="bold")
        text.append(f"\nraised {format_time(item.get('at_ms'), tz)}", style="dim")
        if not item.get("active", True):
            cleared = item.get("cleared_at_ms")
            text.append(
                f" · cleared by itself{f' {format_time(cleared, tz)}' if cleared else ''}",
                style="dim",
            )
        if item.get("acknowledged"):
            text.append(" · acknowledged ", style="dim")
            text.append_text(alert_ack(item, tz))
        else:
            text.append(" · not acknowledged: k", style="bold")
        return text

    def lookup(self, state: DoorState, key: str) -> dict[str, Any] | None:
        return state.alerts.get(key)

    def acknowledge(self, key: str) -> None:
        self.door.request_acknowledge(key)
