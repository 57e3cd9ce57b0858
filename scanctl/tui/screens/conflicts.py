"""Conflicts: double entries this gate took part in, each with ticket, gates and times;
``k`` (or Enter) acknowledges the selected one."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from scanctl.tui.model import DoorState
from scanctl.tui.present import format_time
from scanctl.tui.screens.base import DoorScreen

__all__ = ["KIND_LABELS", "ConflictsScreen", "admissions_line"]

KIND_LABELS = {
    "same-code": "Same code (screenshot)",
    "same-printed-code": "Same printed code",
    "entry-without-exit": "In twice, no exit",
    "over-allowance": "Too many entries",
}


def admissions_line(conflict: dict[str, Any], tz: tzinfo | None) -> str:
    """'north 19:00:01 first · south 19:01:12 (here)': every admission, where and when."""
    parts = []
    for admission in conflict.get("admissions") or []:
        where = admission.get("gate") or str(admission.get("device_id") or "?")[:8]
        if admission.get("lane"):
            where += f"/{admission['lane']}"
        part = f"{where} {format_time(admission.get('scanned_at_ms'), tz)}"
        if admission.get("first"):
            part += " first"
        if admission.get("mine"):
            part += " (here)"
        parts.append(part)
    return " · ".join(parts)


class ConflictsScreen(DoorScreen):
    """Each double entry reported to this gate; acknowledging records who and when."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "k",
            "acknowledge",
            "Acknowledge",
            tooltip="Acknowledge the selected conflict (or Enter)",
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[tuple[Any, ...]] = []

    def compose_body(self) -> ComposeResult:
        yield Static(id="conflicts-summary")
        table: DataTable[Text | str] = DataTable(id="conflicts", cursor_type="row")
        yield table
        yield Static(id="conflict-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (
            ("Ack", 3),
            ("Ticket", 8),
            ("Kind", 22),
            ("Known", 8),
            ("Gates and times", None),
        ):
            table.add_column(label, width=width, key=label.lower())

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        conflicts = state.conflict_list()
        waiting = len(state.open_conflicts())
        summary = Text()
        if not conflicts:
            summary.append("✔ No double entries reported", style="bold green")
        else:
            plural = "entries" if len(conflicts) != 1 else "entry"
            summary.append(f"{len(conflicts)} double {plural}", style="bold")
            if waiting:
                summary.append(f"   ⚠ {waiting} to review", style="bold red")
            else:
                summary.append("   all acknowledged", style="dim")
        self.query_one("#conflicts-summary", Static).update(summary)
        shown = [
            (c.get("id"), c.get("acknowledged"), len(c.get("admissions") or [])) for c in conflicts
        ]
        if shown == self._shown:
            return
        self._shown = shown
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        tz = self.door.source.tz
        for conflict in conflicts:
            acked = bool(conflict.get("acknowledged"))
            table.add_row(
                Text("✔" if acked else "!", style="green" if acked else "bold red"),
                str(conflict.get("ticket_id") or ""),
                KIND_LABELS.get(str(conflict.get("kind")), str(conflict.get("kind"))),
                format_time(conflict.get("first_seen_ms"), tz),
                admissions_line(conflict, tz),
                key=str(conflict.get("id")),
            )
        if conflicts:
            table.move_cursor(row=min(cursor, len(conflicts) - 1))
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else str(key)

    def _show_detail(self) -> None:
        """The selected conflict in full, with who acknowledged it."""
        detail = Text()
        key = self._selected()
        conflict = self.state.conflicts.get(key) if key else None
        if conflict is not None:
            tz = self.door.source.tz
            detail.append(f"Ticket {conflict.get('ticket_id')}: ", style="bold")
            detail.append(KIND_LABELS.get(str(conflict.get("kind")), str(conflict.get("kind"))))
            detail.append(f" — {admissions_line(conflict, tz)}")
            if conflict.get("acknowledged"):
                at = format_time(conflict.get("acked_at_ms"), tz)
                detail.append(f"   acknowledged by {conflict.get('acked_by')} at {at}", "dim")
        self.query_one("#conflict-detail", Static).update(detail)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a conflict acknowledges it too."""
        if event.row_key.value is not None:
            self.door.request_acknowledge_conflict(event.row_key.value)

    def action_acknowledge(self) -> None:
        key = self._selected()
        if key is None:
            self.notify("No conflict to acknowledge.")
            return
        self.door.request_acknowledge_conflict(key)
