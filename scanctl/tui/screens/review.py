"""What the alerts and conflicts screens share: a summary line, a table of things to
review (the ones waiting first), the selected one in full below, and ``k`` (or Enter)
to acknowledge it. A subclass says what its rows are; this draws and acts."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from scanctl.tui.model import DoorState
from scanctl.tui.screens.base import DoorScreen

__all__ = ["ReviewScreen"]


class ReviewScreen(DoorScreen):
    """Subclasses set ``NAME``, ``COLUMNS`` and the ``items``…``acknowledge`` hooks."""

    NAME: ClassVar[str] = ""
    """The widgets' ids: ``#<NAME>s-summary``, ``#<NAME>s``, ``#<NAME>-detail``."""
    COLUMNS: ClassVar[tuple[tuple[str, int | None], ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "k", "acknowledge", "Acknowledge", tooltip="Acknowledge the selected row (or Enter)"
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[tuple[Any, ...]] = []

    # -- what a subclass says ---------------------------------------------------------

    def items(self, state: DoorState) -> list[dict[str, Any]]:
        """Every row, waiting ones first."""
        raise NotImplementedError

    def summary(self, state: DoorState, items: list[dict[str, Any]]) -> Text:
        raise NotImplementedError

    def row(self, item: dict[str, Any]) -> tuple[Text | str, ...]:
        raise NotImplementedError

    def detail(self, item: dict[str, Any]) -> Text:
        raise NotImplementedError

    def lookup(self, state: DoorState, key: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def acknowledge(self, key: str) -> None:
        raise NotImplementedError

    def fingerprint(self, item: dict[str, Any]) -> tuple[Any, ...]:
        """What, when it changes, means the row must be drawn again."""
        return tuple(sorted((k, repr(v)) for k, v in item.items()))

    # -- drawing and acting ---------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        yield Static(id=f"{self.NAME}s-summary", classes="review-summary")
        table: DataTable[Text | str] = DataTable(
            id=f"{self.NAME}s", cursor_type="row", classes="review-table"
        )
        yield table
        yield Static(id=f"{self.NAME}-detail", classes="review-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in self.COLUMNS:
            table.add_column(label, width=width, key=label.lower())

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        items = self.items(state)
        self.query_one(f"#{self.NAME}s-summary", Static).update(self.summary(state, items))
        shown = [self.fingerprint(item) for item in items]
        if shown == self._shown:
            return
        self._shown = shown
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for item in items:
            table.add_row(*self.row(item), key=str(item.get("id")))
        if items:
            table.move_cursor(row=min(cursor, len(items) - 1))
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
        key = self._selected()
        item = self.lookup(self.state, key) if key else None
        detail = self.detail(item) if item is not None else Text()
        self.query_one(f"#{self.NAME}-detail", Static).update(detail)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter acknowledges too."""
        if event.row_key.value is not None:
            self.acknowledge(event.row_key.value)

    def action_acknowledge(self) -> None:
        key = self._selected()
        if key is None:
            self.notify(f"No {self.NAME} to acknowledge.")
            return
        self.acknowledge(key)
