"""How each screen looks, at 80×24 and 120×40 (the overview at 200×60 too), on the recorded
door (tests/tui/door.jsonl). What must be readable at each size is asserted in
test_layout.py; these catch every other change of looks.

Regenerate after a deliberate change with ``pytest tests/tui --snapshot-update`` and look
at the SVGs under ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from scanctl.tui import DoorApp, LiveSource, RecordedSource, build_app
from scanctl.tui.messages import LinkState
from scanctl.tui.source import Backoff
from tests.tui.pilot_kit import table_rows, until

RECORDING = Path(__file__).with_name("door.jsonl")
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
Steps = Callable[[DoorApp, Pilot[None]], Awaitable[None]]


def door() -> DoorApp:
    return build_app(RecordedSource.from_file(RECORDING))


async def replayed(app: DoorApp, pilot: Pilot[None]) -> None:
    await until(pilot, lambda: app.state.events_seen == 10, "the recording replayed")
    await until(pilot, lambda: len(app.screen.query("GateCard")) == 3, "three gate cards")
    await until(pilot, lambda: app.screen.focused is not None, "the first gate selected")
    await pilot.pause()


async def log_screen(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("2")
    await until(pilot, lambda: len(table_rows(app)) == 60, "the scan log")


async def ticket_history(app: DoorApp, pilot: Pilot[None]) -> None:
    await log_screen(app, pilot)
    await pilot.press("slash", *"00000abc", "enter")
    await until(pilot, lambda: len(table_rows(app)) == 2, "the ticket's history")


async def alerts_screen(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("3")
    await until(pilot, lambda: len(table_rows(app)) == 3, "three alerts")


async def conflicts_screen(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("5")
    await until(pilot, lambda: len(table_rows(app)) == 2, "two conflicts")


async def link_screen(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("4")
    await pilot.pause()


async def help_screen(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def pause_dialog(app: DoorApp, pilot: Pilot[None]) -> None:
    await replayed(app, pilot)
    await pilot.press("down", "p")
    await pilot.pause()


SCREENS: dict[str, Steps] = {
    "gates": replayed,
    "log": log_screen,
    "ticket": ticket_history,
    "alerts": alerts_screen,
    "conflicts": conflicts_screen,
    "link": link_screen,
    "help": help_screen,
    "pause": pause_dialog,
}


def test_no_daemon(snap_compare: Any) -> None:
    """What a supervisor sees when the daemon is not there (the first retry is far off)."""
    app = build_app(
        LiveSource(Path("/run/scanctl-test/no-daemon.sock"), backoff=Backoff(60, 60), box="gate-a")
    )  # a named box: the host name would make the picture differ per machine

    async def steps(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.state.link.state is LinkState.OFFLINE, "offline")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)


def test_overview_on_a_big_screen(snap_compare: Any) -> None:
    app = door()

    async def steps(pilot: Pilot[None]) -> None:
        await replayed(app, pilot)

    assert snap_compare(app, terminal_size=(200, 60), run_before=steps)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Any, screen: str, size: tuple[int, int]) -> None:
    app = door()

    async def steps(pilot: Pilot[None]) -> None:
        await SCREENS[screen](app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=steps)
