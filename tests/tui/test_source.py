"""The live source on its own: back-off, and what the TUI shows with no daemon there."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from scanctl.tui import DoorApp, LiveSource, RecordedSource
from scanctl.tui.messages import LinkState
from scanctl.tui.source import Backoff
from tests.tui.pilot_kit import run_app, text_of, until
from tests.tui.test_snapshots import RECORDING


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.25, 3.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.25


def test_without_a_daemon_the_screen_says_so_and_keeps_retrying(tmp_path: Path) -> None:
    socket = tmp_path / "nobody.sock"

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.state.link.attempt >= 3, "three attempts")
        assert app.state.link.state is LinkState.OFFLINE
        assert f"no daemon socket at {socket}" in app.state.link.detail
        bar = text_of(app.screen.query_one("LinkBar"))
        assert "✘ DAEMON UNREACHABLE" in bar and "retry #" in bar

    run_app(LiveSource(socket, backoff=Backoff(0.01, 0.05)), body, size=(80, 24))


def test_ctrl_c_quits_like_q() -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running, "the app to quit")

    run_app(RecordedSource.from_file(RECORDING), body, size=(80, 24))
