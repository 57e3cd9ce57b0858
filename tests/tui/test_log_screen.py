"""The scan log on the recorded door: live rows go on top, the cursor keeps its row."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from scanctl.tui import DoorApp, RecordedSource
from scanctl.tui.messages import DaemonEvents
from tests.tui.pilot_kit import run_app, table_rows, until
from tests.tui.test_snapshots import RECORDING


def decision(index: int) -> dict[str, Any]:
    return {
        "type": "decision",
        "scan_id": f"live-{index}",
        "at_ms": 1_764_331_300_000 + index,
        "scanner": "north-1",
        "gate": "north",
        "direction": "entry",
        "ticket_id": f"{0xB00 + index:08x}",
        "allowed": True,
        "reason": "ADMITTED",
        "decided_by": "offline",
    }


def test_new_rows_go_on_top_and_the_cursor_stays_on_its_scan() -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await pilot.press("2")
        await until(pilot, lambda: len(table_rows(app)) == 60, "the scan log")
        await pilot.press("down", "down", "down")
        table: DataTable[Any] = app.screen.query_one(DataTable)
        reading = table_rows(app)[3]

        app.post_message(DaemonEvents([decision(1), decision(2)]))
        await until(pilot, lambda: len(table_rows(app)) == 62, "two live rows")
        assert [row[4] for row in table_rows(app)[:2]] == ["00000b02", "00000b01"]
        assert table.cursor_row == 5
        assert table_rows(app)[5] == reading

    run_app(RecordedSource.from_file(RECORDING), body, size=(80, 24))
