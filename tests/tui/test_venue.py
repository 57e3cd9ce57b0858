"""One TUI on a venue: two real gate daemons (subprocesses, pty scanners), followed at once
through their local APIs, with the box in every name and each box's link state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.pilot import Pilot

from scanctl.tui import DoorApp, VenueError, VenueSource, load_venue
from scanctl.tui.messages import LinkState
from scanctl.tui.source import Backoff
from scanctl.tui.venue import Box, Venue, box_of, parse_venue
from tests.tui.live_gate import LiveGate, live_gate
from tests.tui.pilot_kit import card_text, run_app, table_rows, text_of, until


@pytest.fixture
def two_boxes(tmp_path: Path) -> Iterator[tuple[LiveGate, LiveGate]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with live_gate(tmp_path / "a") as a, live_gate(tmp_path / "b") as b:
        yield a, b


def test_one_screen_follows_two_boxes_names_them_and_acts_on_the_right_one(
    two_boxes: tuple[LiveGate, LiveGate], tmp_path: Path
) -> None:
    a, b = two_boxes
    file = tmp_path / "arena.toml"
    file.write_text(
        f'name = "Arena"\n[[box]]\nname = "gate-a"\nsocket = "{a.socket}"\n'
        f'[[box]]\nname = "gate-b"\nsocket = "{b.socket}"\n'
    )
    source = VenueSource(load_venue(file), poll_s=0.2, backoff=Backoff(0.05, 0.3))

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: app.state.link.state is LinkState.ONLINE, "online")
        await until(pilot, lambda: len(app.screen.query("GateCard")) == 4, "four gate cards")
        await pilot.pause()
        shown = [card.gate for card in app.screen.query("GateCard")]
        assert shown == ["north@gate-a", "south@gate-a", "north@gate-b", "south@gate-b"]
        a.admit("north-1", 0)
        a.admit("north-1", 1)
        b.admit("south-1", 2)
        for _ in range(5):
            b.forged("south-1")
        a.settle()
        b.settle()
        await until(pilot, lambda: "✔ 2 in  ✘ 0 denied" in card_text(app, "north@gate-a"), "a")
        await until(pilot, lambda: "✔ 1 in  ✘ 5 denied" in card_text(app, "south@gate-b"), "b")
        assert "✔ 0 in  ✘ 0 denied" in card_text(app, "south@gate-a")
        totals = app.screen.query_one("TotalsBar")
        await until(pilot, lambda: text_of(totals).startswith("✔ 3 in  ✘ 5 denied"), "totals")
        bar = app.screen.query_one("LinkBar")
        await until(pilot, lambda: "gate-b ● live" in text_of(bar), "both boxes live")
        assert text_of(bar).startswith("Arena ") and "gate-a ● live" in text_of(bar)

        # The forged codes' alert is gate-b's; acknowledging it is recorded there.
        await until(pilot, lambda: app.state.unacknowledged(), "gate-b's alert")
        (alert,) = app.state.unacknowledged()
        assert alert["id"].startswith("gate-b/") and alert["box"] == "gate-b"
        await pilot.press("3")
        await until(pilot, lambda: table_rows(app), "the alert row")
        assert table_rows(app)[0][2].endswith("@gate-b")
        await pilot.press("k")
        await until(pilot, lambda: b.api("/alerts")["alerts"][0]["acknowledged"], "acked at b")
        assert b.api("/alerts")["alerts"][0]["acked_by"].startswith("tui:")
        assert a.api("/alerts")["alerts"] == []

        # The log holds both boxes' scans, each gate named with its box.
        await pilot.press("2")
        await until(pilot, lambda: len(table_rows(app)) == 8, "eight scans")
        assert {row[1] for row in table_rows(app)} == {"north@gate-a", "south@gate-b"}

        # gate-b goes away: its line says so, gate-a stays live, the screen too.
        b.stop()
        bar = app.screen.query_one("LinkBar")  # the log screen's own top line
        await until(pilot, lambda: "gate-b ✘ UNREACHABLE" in text_of(bar), "b unreachable")
        assert "gate-a ● live" in text_of(bar)
        assert app.state.link.state is LinkState.ONLINE
        await pilot.press("4")
        await until(
            pilot,
            lambda: "gate-b ✘ UNREACHABLE" in text_of(app.screen.query_one("#link-boxes")),
            "the Link screen's boxes",
        )

    run_app(source, body, size=(120, 40))


def test_names_go_back_to_their_box() -> None:
    assert box_of("north@gate-a") == ("north", "gate-a")
    assert box_of("a@b@gate-a") == ("a@b", "gate-a")
    assert box_of("gate-b/replay_burst-3") == ("replay_burst-3", "gate-b")


def test_a_venue_file_names_every_problem(tmp_path: Path) -> None:
    good = parse_venue({"box": [{"name": "gate-a", "socket": "/run/a.sock"}]}, default_name="x")
    assert good == Venue("x", (Box("gate-a", Path("/run/a.sock")),))
    with pytest.raises(VenueError) as raised:
        parse_venue({"box": [{"name": "a"}, {"name": "a", "socket": "s"}], "colour": 1})
    assert "unknown keys: colour" in str(raised.value) and "box a: socket" in str(raised.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[box]\n")
    with pytest.raises(VenueError):
        load_venue(bad)


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(["name", "box", "other"]), toml_values) | toml_values)
def test_garbage_is_a_venue_error_never_a_crash(data: object) -> None:
    try:
        venue = parse_venue(data)
    except VenueError:
        return
    assert venue.boxes and all(box.name for box in venue.boxes)
