"""The overview: every gate as a card, the venue's totals above them."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.events import DescendantFocus
from textual.widgets import Static

from scanctl.tui.messages import LinkState
from scanctl.tui.model import DoorState
from scanctl.tui.screens.base import DoorScreen
from scanctl.tui.screens.dialogs import ConfirmScreen
from scanctl.tui.widgets import AlertStrip, GateCard, RecentDecisions, TotalsBar

__all__ = ["CARD_MIN_WIDTH", "GatesScreen"]

CARD_MIN_WIDTH = 38
"""Columns a gate card needs to show its counts, top denial and last decision whole."""


class GatesScreen(DoorScreen):
    """Gates overview; arrow keys pick a gate, ``p`` pauses or resumes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause/resume", tooltip="Pause or resume the selected gate"),
        # Shown in the help; GateCard has the keys (the scrolling container would take them).
        Binding("down,right", "app.focus_next", "Select the next gate", show=False),
        Binding("up,left", "app.focus_previous", "Select the previous gate", show=False),
    ]

    AUTO_FOCUS = None  # the first gate card, once there is one (see _focus_selected)

    selected_gate: str | None = None

    def compose_body(self) -> ComposeResult:
        yield TotalsBar()
        yield AlertStrip()
        yield Static(id="gates-empty")
        with VerticalScroll(id="gates-scroll", can_focus=False):
            yield Grid(id="gates")
        yield RecentDecisions()

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        totals = self.query_one(TotalsBar)
        totals.display = bool(state.totals or state.gates)
        totals.show(state.counts())
        strip = self.query_one(AlertStrip)
        strip.lines = 2 if self.size.height < 30 else 4
        strip.show(state.pressing())
        empty = self.query_one("#gates-empty", Static)
        empty.display = not state.gates
        if not state.gates:
            empty.update(_waiting_text(state))
        grid = self.query_one("#gates", Grid)
        cards = {card.gate: card for card in grid.query(GateCard)}
        for name, gone in cards.items():
            if name not in state.gates:  # the daemon came back with other gates
                gone.remove()
        names = list(state.gates)
        for index, (name, view) in enumerate(state.gates.items()):
            card = cards.get(name)
            if card is None:
                # In the state's order (the daemon's, or box by box), whichever came first.
                later = [cards[n] for n in names[index + 1 :] if n in cards]
                cards[name] = GateCard(view)
                grid.mount(cards[name], before=later[0] if later else None)
            else:
                card.show(view)
        self._fit_columns(len(state.gates))
        self.query_one(RecentDecisions).show(state.recent, self.door.source.tz)
        if not isinstance(self.focused, GateCard):
            self.call_after_refresh(self._focus_selected)

    def on_resize(self) -> None:
        self._fit_columns(len(self.state.gates))

    def _fit_columns(self, gates: int) -> None:
        """As many card columns as fit at a readable width, and no more than there are
        gates: the cards share the whole width (80 columns: two; 120: three)."""
        columns = max(1, min(gates, self.size.width // CARD_MIN_WIDTH))
        grid = self.query_one("#gates", Grid)
        if grid.styles.grid_size_columns != columns:
            grid.styles.grid_size_columns = columns

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if isinstance(event.widget, GateCard):
            self.selected_gate = event.widget.gate

    def _focus_selected(self) -> None:
        """Keep the supervisor's choice of gate across redraws and dialogs."""
        if self.app.screen is self and not isinstance(self.focused, GateCard):
            card = self._selected()
            if card is not None:
                card.focus()

    def _selected(self) -> GateCard | None:
        if isinstance(self.focused, GateCard):
            return self.focused
        cards = list(self.query(GateCard))
        chosen = [card for card in cards if card.gate == self.selected_gate] or cards
        return chosen[0] if chosen else None

    def action_toggle_pause(self) -> None:
        card = self._selected()
        if card is None:
            self.notify("No gate to pause yet.", severity="warning")
            return
        gate, pause = card.gate, not card.paused
        question = (
            f"Pause gate [b]{gate}[/b]? Its scanners will refuse every code until resumed."
            if pause
            else f"Resume gate [b]{gate}[/b]? Its scanners will admit again."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.door.request_pause(gate, pause)

        self.app.push_screen(ConfirmScreen(question, "Pause" if pause else "Resume"), confirmed)


def _waiting_text(state: DoorState) -> Text:
    """What the overview says before there is a gate to show."""
    link = state.link
    if link.state is LinkState.OFFLINE:
        text = Text("✘ No gate daemon answers.\n\n", style="bold red")
        text.append(link.detail or "", style="bold")
        text.append(
            "\n\nIs `scanctl daemon run` running, and is this its socket? "
            "The screen fills in by itself as soon as it answers."
        )
        return text
    if link.state is LinkState.CONNECTING:
        return Text(f"◌ {link.detail or 'Connecting to the gate daemon'}…", style="bold")
    return Text("This daemon has no scanners configured.", style="bold")
