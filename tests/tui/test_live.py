"""The TUI on a real daemon: a subprocess, scanners on pseudo-terminals, codes written in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from scanctl.tui import DoorApp, LiveSource
from scanctl.tui.messages import LinkState
from scanctl.tui.screens import ConfirmScreen, PickScreen
from scanctl.tui.source import Backoff
from scanctl.tui.widgets import GateCard
from tests.tui.live_gate import LiveGate, live_gate, simulated
from tests.tui.pilot_kit import card, card_text, run_app, table_rows, text_of, until


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveGate]:
    with live_gate(tmp_path) as gate:
        yield gate


def source(live: LiveGate) -> LiveSource:
    return LiveSource(live.socket, poll_s=0.2, backoff=Backoff(0.05, 0.3))


async def online(app: DoorApp, pilot: Pilot[None]) -> None:
    await until(pilot, lambda: app.state.link.state is LinkState.ONLINE, "the TUI online")


def test_counts_on_screen_match_the_journal(live: LiveGate) -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await online(app, pilot)
        for index in range(4):
            live.admit("north-1", index)
        live.forged("north-1")
        live.forged("north-1")
        live.admit("south-1", 10)
        live.settle()
        live.admit("south-1", 10)  # the same ticket again: ALREADY_SCANNED
        live.settle()
        scans = live.api("/scans?limit=100")["scans"]
        expected = Counter((scan["gate"], scan["allowed"]) for scan in scans)
        assert sum(expected.values()) == 8
        for gate in ("north", "south"):
            line = f"✔ {expected[gate, True]} in  ✘ {expected[gate, False]} denied"
            await until(pilot, lambda gate=gate, line=line: line in card_text(app, gate), line)
        assert "✘ DENIED ALREADY_SCANNED   0000000a" in card_text(app, "south")
        assert "● south-1" in card_text(app, "south")
        admitted = f"✔ {expected['north', True] + expected['south', True]} in"
        totals = app.screen.query_one("TotalsBar")
        await until(pilot, lambda: text_of(totals).startswith(admitted), "the totals")

    run_app(source(live), body)


def test_log_filters_by_gate_and_reason_and_finds_a_ticket(live: LiveGate) -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await online(app, pilot)
        live.admit("north-1", 1)
        live.forged("north-1")
        ticket = live.admit("south-1", 2)
        live.settle()  # two scanners are read concurrently: order them
        live.admit("north-1", 2)  # the same ticket at the other gate
        live.settle()
        await pilot.press("2")
        await until(pilot, lambda: len(table_rows(app)) == 4, "four scans in the log")
        assert table_rows(app)[0][1] == "north", "newest first"

        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, PickScreen), "the gate picker")
        await pilot.press("down", "down", "enter")  # All gates, north, south
        await until(pilot, lambda: {row[1] for row in table_rows(app)} == {"south"}, "south")

        await pilot.press("escape", "r")
        await until(pilot, lambda: isinstance(app.screen, PickScreen), "the reason picker")
        await pilot.press("down", "down", "down", "down", "enter")  # …, EXITED, INVALID
        await until(pilot, lambda: [row[5] for row in table_rows(app)] == ["✘ INVALID"], "")

        await pilot.press("slash")
        await pilot.press(*ticket, "enter")
        await until(pilot, lambda: len(table_rows(app)) == 2, "the ticket's two scans")
        rows = table_rows(app)
        assert [(row[1], row[4], row[5]) for row in rows] == [
            ("north", ticket, "✘ ALREADY_SCANNED"),
            ("south", ticket, "✔ ADMITTED"),
        ]
        assert f"Ticket {ticket}: 2 scans" in text_of(app.screen.query_one("#log-filters"))

        live.admit("south-1", 2)  # a third scan of that ticket shows up live
        await until(pilot, lambda: len(table_rows(app)) == 3, "the ticket's third scan")

    run_app(source(live), body)


def test_pause_and_resume_a_gate_after_confirming(live: LiveGate) -> None:
    def paused() -> dict[str, bool]:
        return {gate["gate"]: gate["paused"] for gate in live.api("/gates")["gates"]}

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await online(app, pilot)
        await until(pilot, lambda: app.screen.query("GateCard"), "the gate cards")
        await until(pilot, lambda: app.screen.focused is card(app, "north"), "north selected")
        await pilot.press("down")
        assert app.screen.focused is card(app, "south")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("n")
        await pilot.pause()
        assert paused() == {"north": False, "south": False}, "no means no"

        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: "■ PAUSED" in card_text(app, "south"), "south shown paused")
        assert paused() == {"north": False, "south": True}

        assert app.screen.focused is card(app, "south"), "still selected after the dialogs"
        await pilot.press("p", "y")
        await until(pilot, lambda: "▶ open" in card_text(app, "south"), "south shown open")
        assert paused() == {"north": False, "south": False}

    run_app(source(live), body)


def test_an_alert_is_shown_and_acknowledged(live: LiveGate) -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await online(app, pilot)
        for _ in range(5):
            live.forged("north-1")
        live.settle()
        await pilot.press("3")
        await until(pilot, lambda: table_rows(app), "an alert row")
        (row,) = table_rows(app)
        assert row[0] == "△ WARNING" or row[0] == "▲ CRITICAL"
        assert row[1] == "Forged codes" and row[4] == "—"
        await pilot.press("k")
        await until(
            pilot, lambda: table_rows(app)[0][4].startswith("✔ "), "the alert shown acknowledged"
        )
        (alert,) = live.api("/alerts")["alerts"]
        assert alert["acknowledged"] is True and alert["acked_by"].startswith("tui:")
        assert table_rows(app)[0][4].startswith(f"✔ {alert['acked_by'].removeprefix('tui:')} ")
        assert "all acknowledged" in text_of(app.screen.query_one("#alerts-summary"))

    run_app(source(live), body)


def test_reconnects_by_itself_after_the_daemon_restarts(live: LiveGate) -> None:
    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await online(app, pilot)
        live.admit("north-1", 3)
        live.settle()
        await until(pilot, lambda: "✔ 1 in" in card_text(app, "north"), "one admission")

        live.stop()
        await until(pilot, lambda: app.state.link.state is LinkState.OFFLINE, "shown offline")
        bar = text_of(app.screen.query_one("LinkBar"))
        assert "DAEMON UNREACHABLE" in bar

        live.start()
        await until(pilot, lambda: app.state.link.state is LinkState.ONLINE, "back online", 8.0)
        # The restarted daemon has no last decision of its own: the journal's is shown,
        # never "no scans yet" beside a count.
        await until(pilot, lambda: "ADMITTED" in card_text(app, "north"), "the journal's last")
        assert "no scans yet" not in card_text(app, "north")
        live.admit("north-1", 4)
        live.settle(2)
        # The restarted daemon carries on counting from its journal.
        await until(pilot, lambda: "✔ 2 in" in card_text(app, "north"), "the new scan")
        await until(pilot, lambda: "LIVE" in text_of(app.screen.query_one("LinkBar")), "LIVE")

    run_app(source(live), body)


def test_a_simulated_flood_pause_it_and_the_screen_matches_the_journal(tmp_path: Path) -> None:
    with live_gate(tmp_path, simulated("east-sim", "east", rate_per_s=200.0)) as live:

        def journal_counts() -> tuple[int, int]:
            scans = live.api("/scans?gate=east&limit=1000")["scans"]
            admitted = sum(scan["allowed"] for scan in scans)
            return admitted, len(scans) - admitted

        async def body(app: DoorApp, pilot: Pilot[None]) -> None:
            await online(app, pilot)
            await until(pilot, lambda: app.screen.query("#gate-east"), "the east gate's card")
            await until(pilot, lambda: "/min" in card_text(app, "east"), "the east gate drawn")
            await until(pilot, lambda: app.state.gates["east"].admitted >= 50, "a flood")
            await until(pilot, lambda: isinstance(app.screen.focused, GateCard), "a selection")
            await pilot.press("down", "down")  # north, south, east
            assert app.screen.focused is card(app, "east")
            await pilot.press("p", "y")
            await until(pilot, lambda: "■ PAUSED" in card_text(app, "east"), "east paused")

            def screen_matches_journal() -> bool:
                admitted, denied = journal_counts()
                line = f"✔ {admitted:,} in  ✘ {denied:,} denied"
                return line in card_text(app, "east")

            await until(pilot, screen_matches_journal, "east's counts equal to the journal's")
            admitted, denied = journal_counts()
            assert admitted >= 50 and denied > 0, "the mix has denials too"

        run_app(source(live), body)
