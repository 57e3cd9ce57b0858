"""What every main screen shares: the link bar on top, the footer below, a refresh hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from scanctl.tui.model import DoorState
from scanctl.tui.widgets import LinkBar

if TYPE_CHECKING:
    from scanctl.tui.app import DoorApp

__all__ = ["DoorScreen"]


class DoorScreen(Screen[None]):
    """A main screen. Subclasses compose their body and draw it in ``show()``."""

    def compose(self) -> ComposeResult:
        yield LinkBar()
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def door(self) -> DoorApp:
        return cast("DoorApp", self.app)

    @property
    def state(self) -> DoorState:
        return self.door.state

    def on_screen_resume(self) -> None:
        self.redraw()

    def redraw(self, events: list[dict[str, Any]] | None = None) -> None:
        """Draw the app's state; ``events`` is the batch that just arrived, if any."""
        if not self.is_mounted or not self.is_attached:
            return
        try:
            self.query_one(LinkBar).show(self.state)
            self.show(self.state, events)
        except NoMatches:
            pass  # composing, or being torn down at exit: the next redraw will do

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        """Draw the screen's body."""
