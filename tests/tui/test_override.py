"""The supervisor's override from the TUI, and admissions with a warning on screen."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from scanctl.tui import DoorApp, RecordedSource
from scanctl.tui.present import decision_text, reason_text
from scanctl.tui.screens.override import OverrideScreen, override_body
from tests.tui.pilot_kit import run_app, until

RECORDING = Path(__file__).with_name("door.jsonl")


def test_the_link_screen_applies_an_override_with_the_keyboard_only() -> None:
    source = RecordedSource.from_file(RECORDING)

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await pilot.press("4")
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OverrideScreen), "the override dialog")
        await pilot.press("down", "enter")  # extend the validity
        await pilot.press("end", "backspace", "backspace", "4", "5", "enter")
        await pilot.press(*"Sam", "enter")
        await until(pilot, lambda: source.overrides, "the override to reach the source")

    run_app(source, body)
    (sent,) = source.overrides
    assert (sent["extend_minutes"], sent["by"]) == (45, "Sam")


def test_override_bodies() -> None:
    assert override_body("admit-with-warning", 30, "Sam", 1_000) == {
        "action": "admit-with-warning",
        "until_ms": 1_000 + 30 * 60_000,
        "by": "Sam",
    }
    assert override_body("deny", 5, "Sam", 0)["action"] == "deny"
    assert override_body("clear", 0, "Sam", 0) == {"action": None, "by": "Sam"}


def test_an_admission_with_a_warning_reads_differently() -> None:
    warned = decision_text(
        {
            "reason": "ADMITTED",
            "allowed": True,
            "ticket_id": "0000002a",
            "scanner": "north-1",
            "warning": "offline ticket data is out of date",
        }
    ).plain
    assert warned.startswith("✔ ADMITTED  ⚠ WARNING   0000002a")
    assert warned.endswith("— offline ticket data is out of date")
    plain = reason_text("ADMITTED", allowed=True).plain
    assert "WARNING" not in plain
    assert "WARNING" not in reason_text("MANIFEST_STALE", allowed=False, warning="x").plain
