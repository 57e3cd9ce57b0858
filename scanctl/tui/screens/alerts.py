"""Alerts: what needs the supervisor, newest and active first; ``k`` acknowledges."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from scanctl.tui.model import DoorState
from scanctl.tui.present import alert_badge, format_time
from scanctl.tui.screens.base import DoorScreen

__all__ = ["AlertsScreen"]

KIND_LABELS = {
    "replay_burst": "Replayed codes",
    "forgery_burst": "Forged codes",
    "scanner_disconnected": "Scanner offline",
    "backend_unreachable": "Backend down",
    "manifest_stale": "Manifest stale",
    "manifest_expiring": "Manifest expiring",
    "outbox_growing": "Outbox growing",
    "reconcile_conflict": "Sync conflict",
    "journal_failed": "Journal failed",
    "manifest_refused": "Manifest refused",
    "task_failed": "Daemon task failed",
}


class AlertsScreen(DoorScreen):
    """The daemon's alerts; acknowledging one keeps it listed but quiet."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "k", "acknowledge", "Acknowledge", tooltip="Acknowledge the selected alert (or Enter)"
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[tuple[Any, ...]] = []

    def compose_body(self) -> ComposeResult:
        yield Static(id="alerts-summary")
        table: DataTable[Text | str] = DataTable(id="alerts", cursor_type="row")
        yield table
        yield Static(id="alert-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (
            ("State", 10),
            ("What", 17),
            ("Where", 8),
            ("Since", 8),
            ("Ack", 3),
            ("Message", None),
        ):
            table.add_column(label, width=width, key=label.lower())

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        alerts = state.alert_list()
        waiting = len(state.unacknowledged())
        summary = Text()
        if not alerts:
            summary.append("✔ No alerts", style="bold green")
        else:
            summary.append(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}", style="bold")
            if waiting:
                summary.append(f"   ⚠ {waiting} waiting for acknowledgement", style="bold red")
            else:
                summary.append("   all acknowledged", style="dim")
        self.query_one("#alerts-summary", Static).update(summary)
        shown = [_fingerprint(alert) for alert in alerts]
        if shown == self._shown:
            return
        self._shown = shown
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        tz = self.door.source.tz
        for alert in alerts:
            table.add_row(
                alert_badge(alert),
                KIND_LABELS.get(str(alert.get("kind")), str(alert.get("kind"))),
                str(alert.get("gate") or alert.get("scanner") or "daemon"),
                format_time(alert.get("at_ms"), tz),
                Text("✔" if alert.get("acknowledged") else "—"),
                str(alert.get("message") or ""),
                key=str(alert.get("id")),
            )
        if alerts:
            table.move_cursor(row=min(cursor, len(alerts) - 1))
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The selected alert in full: a narrow screen cuts the table's message short."""
        table = self.query_one(DataTable)
        detail = Text()
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            alert = self.state.alerts.get(str(key))
            if alert is not None:
                detail.append_text(alert_badge(alert))
                where = alert.get("scanner") or alert.get("gate") or "daemon"
                detail.append(f" {KIND_LABELS.get(str(alert.get('kind')), '')} at {where}: ")
                detail.append(str(alert.get("message") or ""), style="bold")
        self.query_one("#alert-detail", Static).update(detail)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an alert acknowledges it too."""
        if event.row_key.value is not None:
            self.door.request_acknowledge(event.row_key.value)

    def action_acknowledge(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("No alert to acknowledge.")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is not None:
            self.door.request_acknowledge(key)


def _fingerprint(alert: dict[str, Any]) -> tuple[Any, ...]:
    return (
        alert.get("id"),
        alert.get("active"),
        alert.get("acknowledged"),
        alert.get("message"),
        alert.get("at_ms"),
    )
