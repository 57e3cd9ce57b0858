"""What must be readable on the overview at 80×24, 120×40 and 200×60 (the recorded door):
every gate's denials and top reason, the offline scanner, the alerts waiting, the box —
asserted on the rendered screen's text, not only on a reference picture."""

from __future__ import annotations

import html
import re

import pytest
from textual.pilot import Pilot

from scanctl.tui import DoorApp, RecordedSource
from scanctl.tui.screens import ConfirmScreen
from tests.tui.pilot_kit import run_app, table_rows, text_of, until
from tests.tui.test_snapshots import RECORDING, replayed

_TEXT = re.compile(
    r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>'
)


def screen_lines(app: DoorApp) -> list[str]:
    """The screen as lines of text, from Textual's own SVG export (each run of text is
    placed at its cell: spaces between runs are drawn as background only)."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, line, content in _TEXT.findall(app.export_screenshot()):
        column = round(float(x) / CELL_WIDTH)
        for offset, char in enumerate(html.unescape(content).replace("\xa0", " ")):
            if 0 <= column + offset < width and int(line) < height:
                rows[int(line)][column + offset] = char
    return ["".join(row).rstrip() for row in rows]


CELL_WIDTH = 12.2  # Textual's SVG export: one terminal cell is 12.2 units wide


SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_overview_shows_what_a_supervisor_needs_at_every_size(size: tuple[int, int]) -> None:
    shown: list[str] = []

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await replayed(app, pilot)
        shown.extend(screen_lines(app))

    run_app(RecordedSource.from_file(RECORDING), body, size=size)
    screen = "\n".join(shown)
    assert len(shown) == size[1]
    assert "gate-a" in shown[0], "the box is named in the header"
    # Every gate's entries and denials, and its most frequent denial reason.
    for gate, entries, denied, top in (
        ("north", "1,217", 13, "TICKET_REFUNDED ×1"),
        ("south", "817", 21, "QR_EXPIRED ×1"),
        ("vip", "418", 28, "TICKET_REFUNDED ×1"),
    ):
        assert f"✔ {entries} in  ✘ {denied} denied" in screen, gate
        assert f"most denied {top}" in screen, gate
    assert "✘ north-2 OFFLINE" in screen
    assert "■ PAUSED" in screen
    # The alerts nobody acknowledged, critical first, on the main screen.
    critical = next(i for i, line in enumerate(shown) if "▲ CRITICAL" in line)
    warning = next(i for i, line in enumerate(shown) if "△ WARNING" in line)
    assert critical < warning
    assert "Replayed codes at south" in shown[critical]
    assert "inside main 2,324 · vip 80" in screen
    # A decision never runs into its ticket.
    assert re.search(r"ADMITTED\s{2,}0000", screen) and not re.search(r"ADMITTED0", screen)
    if size[0] >= 110:  # the live ticker of decisions, with the denials spelled out
        assert "✘ DENIED ALREADY_SCANNED" in screen and "✘ DENIED QR_EXPIRED" in screen


def test_numbers_stay_live_under_a_dialog() -> None:
    source = RecordedSource.from_file(RECORDING)

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await replayed(app, pilot)
        await pilot.press("p")  # north selected: "Pause gate north?"
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dialog")
        await source.set_paused("north", True)  # the daemon says so meanwhile
        gates = app.screen_stack[0]
        north = gates.query_one("#gate-north")
        await until(pilot, lambda: north.border_subtitle == "■ PAUSED", "north paused underneath")
        assert isinstance(app.screen, ConfirmScreen), "the dialog is still open"
        assert "LIVE" not in text_of(gates.query_one("LinkBar"))  # a recording says so

    run_app(source, body, size=(80, 24))


def test_an_alert_that_cleared_itself_still_waits_for_acknowledgement() -> None:
    source = RecordedSource.from_file(RECORDING)
    source.alerts[0].update(active=False, cleared_at_ms=source.frozen_ms - 1000)

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await replayed(app, pilot)
        lines = screen_lines(app)
        assert any("CLEARED Replayed codes at south" in line for line in lines)
        await pilot.press("3")
        await until(pilot, lambda: app.screen.query("#alerts-summary"), "the alerts")
        await pilot.pause()
        summary = text_of(app.screen.query_one("#alerts-summary"))
        assert "2 waiting for acknowledgement" in summary
        detail = text_of(app.screen.query_one("#alert-detail"))
        assert "cleared by itself 11:59:59 · not acknowledged" in detail
        await pilot.press("k")
        await until(pilot, lambda: len(app.state.unacknowledged()) == 1, "one acknowledged")
        await until(pilot, lambda: "✔ recording 12:00:00" in table_rows(app)[1][4], "who, when")

    run_app(source, body, size=(120, 40))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_link_screen_shows_the_gate_mesh_and_every_peers_link(size: tuple[int, int]) -> None:
    shown: list[str] = []

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await replayed(app, pilot)
        await pilot.press("4")
        await until(pilot, lambda: app.screen.query("#link-mesh"), "the link screen")
        await pilot.pause()
        shown.extend(screen_lines(app))

    run_app(RecordedSource.from_file(RECORDING), body, size=size)
    screen = "\n".join(shown)
    assert "Gate mesh" in screen and "mesh 1/2 peers up ✘" in screen
    assert re.search(r"gate-b +✔ up +0 s ago +0 behind", screen), screen
    assert re.search(r"gate-c +✘ DOWN +1 min ago +12 behind", screen), screen
    assert "⚠ 2 alerts" in shown[0], "the alerts stay in the header, whatever the mesh"
    if size[0] >= 120:
        assert "mesh 1/2 ✘" in shown[0]
