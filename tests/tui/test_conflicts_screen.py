"""The conflicts screen on the recorded door: ticket, gates and times; acknowledged by key."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from scanctl.tui import DoorApp, RecordedSource
from tests.tui.pilot_kit import run_app, table_rows, text_of, until

RECORDING = Path(__file__).with_name("door.jsonl")


def test_each_conflict_shows_ticket_kind_gates_and_times_and_k_acknowledges_it() -> None:
    source = RecordedSource.from_file(RECORDING)

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.state.conflicts) == 2, "the conflicts")
        await pilot.press("5")
        await until(pilot, lambda: len(table_rows(app)) == 2, "two rows")
        first, second = table_rows(app)
        assert first[:3] == ["!", "00000abc", "Same code (screenshot)"]  # open ones first
        assert "west 11:45:00 first" in first[4] and "north/north-1 11:45:20 (here)" in first[4]
        assert second[0] == "✔" and second[1] == "00001f00"
        summary = text_of(app.screen.query_one("#conflicts-summary", Static))
        assert "2 double entries" in summary and "1 to review" in summary
        detail = text_of(app.screen.query_one("#conflict-detail", Static))
        assert detail.startswith("Ticket 00000abc: Same code")

        await pilot.press("k")  # the selected (open) one
        await until(pilot, lambda: not app.state.open_conflicts(), "acknowledged")
        await until(pilot, lambda: table_rows(app)[0][0] == "✔", "the row ticked")
        acked = app.state.conflicts["5f0c2a7d9e1b4c3a8d6e2f1a0b9c8d7e"]
        assert acked["acked_by"] == "recording"
        assert "all acknowledged" in text_of(app.screen.query_one("#conflicts-summary", Static))
        await pilot.press("down")
        await until(
            pilot,
            lambda: "acknowledged by" in text_of(app.screen.query_one("#conflict-detail", Static)),
            "who acknowledged it",
        )

    run_app(source, body)
