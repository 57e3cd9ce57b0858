"""The scan log: newest first, filtered by gate and reason, or one ticket's history."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from scanctl.core import Reason
from scanctl.tui.errors import TuiError
from scanctl.tui.model import DoorState
from scanctl.tui.present import format_time, reason_text
from scanctl.tui.screens.base import DoorScreen
from scanctl.tui.screens.dialogs import PickScreen, TicketPrompt

__all__ = ["LogScreen"]

SHOWN = 200
HISTORY = 1000


class LogScreen(DoorScreen):
    """Recent scans from the journal, kept live from the event stream."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "pick_gate", "Gate", tooltip="Show one gate's scans (or all)"),
        Binding("r", "pick_reason", "Reason", tooltip="Show scans with one reason (or all)"),
        Binding(
            "slash", "find_ticket", "Ticket", key_display="/", tooltip="Find a ticket's history"
        ),
        Binding("escape", "clear", "Clear", tooltip="Clear the filters and the ticket search"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.gate = ""
        self.reason = ""
        self.ticket = ""
        self.rows: list[dict[str, Any]] = []
        self._ids: set[Any] = set()
        self._loaded = False
        self._dirty = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="log-filters")
        table: DataTable[Text | str] = DataTable(id="log", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (
            ("Time", 8),
            ("Gate", 8),
            ("Scanner", 9),
            ("Dir", 3),
            ("Ticket", 8),
            ("Decision", 22),
            ("By", 7),
        ):
            table.add_column(label, width=width, key=label.lower())

    def on_screen_resume(self) -> None:
        # Read the journal again: while another screen was shown, more may have
        # happened than the live rows the app keeps.
        self.reload()
        super().on_screen_resume()

    # -- data ------------------------------------------------------------------------

    @work(exclusive=True, group="log-query")
    async def reload(self) -> None:
        """Ask the journal again for what the filters select."""
        self._loaded = True
        try:
            rows = await self.door.source.scans(
                limit=HISTORY if self.ticket else SHOWN,
                gate=self.gate or None,
                reason=self.reason or None,
                ticket=self.ticket or None,
            )
        except TuiError as error:
            self._loaded = False
            self.notify(f"Cannot read the scan log: {error}", severity="error")
            return
        self.rows = rows
        self._ids = {row.get("scan_id") for row in rows}
        self._dirty = True
        self.redraw()

    def _matches(self, row: dict[str, Any]) -> bool:
        return (
            (not self.gate or row.get("gate") == self.gate)
            and (not self.reason or row.get("reason") == self.reason)
            and (not self.ticket or row.get("ticket_id") == self.ticket)
        )

    def _take_live(self, state: DoorState) -> bool:
        """Put decisions that arrived since the last query on top; True if any did."""
        fresh = []
        for row in state.recent:
            if row.get("scan_id") in self._ids:
                break
            if self._matches(row):
                fresh.append(row)
        if not fresh:
            return False
        self._ids.update(row.get("scan_id") for row in fresh)
        keep = HISTORY if self.ticket else SHOWN
        self.rows = (fresh + self.rows)[:keep]
        return True

    # -- drawing ---------------------------------------------------------------------

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        if not self._loaded:
            return
        changed = self._take_live(state) or self._dirty
        self.query_one("#log-filters", Static).update(self._filters_text())
        if changed:
            self._dirty = False
            self._fill()

    def _filters_text(self) -> Text:
        text = Text()
        if self.ticket:
            text.append(f"Ticket {self.ticket}", style="bold")
            text.append(f": {len(self.rows)} scan{'s' if len(self.rows) != 1 else ''}")
            text.append(", newest first   Esc: back to the log", style="dim")
            return text
        text.append("Scan log", style="bold")
        text.append(" newest first   gate: ")
        text.append(self.gate or "all", style="bold" if self.gate else "")
        text.append("   reason: ")
        text.append(self.reason or "all", style="bold" if self.reason else "")
        return text

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        tz = self.door.source.tz
        # A supervisor reading an older row keeps it under the cursor as new rows arrive.
        kept = None
        if table.row_count and table.cursor_row > 0:
            kept = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for index, row in enumerate(self.rows):
            table.add_row(
                format_time(row.get("scanned_at_ms"), tz),
                str(row.get("gate") or ""),
                str(row.get("scanner") or ""),
                "in" if row.get("direction") == "entry" else "out",
                str(row.get("ticket_id") or "—"),
                reason_text(
                    str(row.get("reason")),
                    allowed=row.get("allowed"),
                    compact=True,
                    warning=row.get("warning"),
                ),
                str(row.get("decided_by") or ""),
                key=str(row.get("scan_id") or f"row-{index}"),
            )
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept), scroll=False)

    # -- actions ---------------------------------------------------------------------

    def action_pick_gate(self) -> None:
        gates = sorted(self.state.gates)
        choices = [("", "All gates"), *((gate, gate) for gate in gates)]
        self.app.push_screen(PickScreen("Show scans at", choices, self.gate), self._set_gate)

    def _set_gate(self, gate: str | None) -> None:
        if gate is not None:
            self.gate, self.ticket = gate, ""
            self.reload()

    def action_pick_reason(self) -> None:
        choices = [("", "All reasons"), *((reason.value, reason.value) for reason in Reason)]
        self.app.push_screen(PickScreen("Show scans with", choices, self.reason), self._set_reason)

    def _set_reason(self, reason: str | None) -> None:
        if reason is not None:
            self.reason, self.ticket = reason, ""
            self.reload()

    def action_find_ticket(self) -> None:
        self.app.push_screen(TicketPrompt(), self._set_ticket)

    def _set_ticket(self, ticket: str | None) -> None:
        if ticket:
            self.ticket, self.gate, self.reason = ticket, "", ""
            self.reload()

    def action_clear(self) -> None:
        if self.ticket or self.gate or self.reason:
            self.ticket = self.gate = self.reason = ""
            self.reload()
