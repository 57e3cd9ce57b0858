"""One gate at a glance: rate and trend, counts, the last decision, scanners, paused."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Sparkline, Static

from scanctl.tui.model import GateView
from scanctl.tui.present import decision_text, format_count, is_admitted

__all__ = ["GateCard", "card_id", "counts_text"]


class GateCard(Widget, can_focus=True):
    """A bordered card for one gate; focus it to act on the gate."""

    DEFAULT_CSS = """
    GateCard {
        height: auto;
        border: round $primary-darken-1;
        border-title-style: bold;
        border-title-color: $text;
        padding: 0 1;
    }
    GateCard:focus { border: double $accent; }
    GateCard.-paused { border: round $warning; }
    GateCard.-paused:focus { border: double $warning; }
    GateCard .rate-row { height: 1; }
    GateCard .rate { width: auto; min-width: 9; text-style: bold; }
    GateCard Sparkline { height: 1; width: 1fr; margin-left: 1; }
    GateCard Sparkline > .sparkline--max-color { color: $success; }
    GateCard Sparkline > .sparkline--min-color { color: $primary-darken-2; }
    GateCard .counts, GateCard .top, GateCard .last, GateCard .scanners {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "app.focus_next", "Next gate", show=False),
        Binding("up,left", "app.focus_previous", "Previous gate", show=False),
    ]

    def __init__(self, view: GateView) -> None:
        super().__init__(id=card_id(view.name))
        self.gate = view.name
        self.paused = False
        self._view = view
        self._composed = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="rate-row"):
            yield Label(classes="rate")
            yield Sparkline([], summary_function=max)
        yield Static(classes="counts")
        yield Static(classes="top")
        yield Static(classes="last")
        yield Static(classes="scanners")

    def on_mount(self) -> None:
        self._composed = True
        self.show(self._view)

    def show(self, view: GateView) -> None:
        self._view = view
        if not self._composed:
            return
        self.paused = view.paused
        self.border_title = view.name
        self.border_subtitle = "■ PAUSED" if view.paused else "▶ open"
        self.set_class(view.paused, "-paused")
        self.query_one(".rate", Label).update(f"{format_count(view.per_minute_now)}/min")
        self.query_one(Sparkline).data = [float(n) for n in view.per_minute_15] or [0.0]
        self.query_one(".counts", Static).update(counts_text(view))
        self.query_one(".top", Static).update(_top_denial(view.reasons))
        counted = view.admitted + view.denied > 0
        self.query_one(".last", Static).update(decision_text(view.last, counted=counted))
        self.query_one(".scanners", Static).update(_scanners_text(view))


def card_id(gate: str) -> str:
    """The card's widget id: ``gate-north``; ``gate-north_gate-a`` for ``north@gate-a``."""
    return "gate-" + re.sub(r"[^A-Za-z0-9_-]", "_", gate)


def counts_text(view: GateView) -> Text:
    """'✔ 1,215 in  ✘ 13 denied' (and '⇥ 495 out' where the gate has an exit lane)."""
    text = Text()
    if view.entries or not view.has_exit_lane:
        text.append(f"✔ {format_count(view.entries)} in", style="bold")
        text.append("  ")
    if view.has_exit_lane:
        text.append(f"⇥ {format_count(view.exits)} out", style="bold")
        text.append("  ")
    text.append(
        f"✘ {format_count(view.denied)} denied", style="bold #ff6b6b" if view.denied else "bold"
    )
    return text


def _top_denial(reasons: dict[str, int]) -> Text:
    denials = {
        reason: count for reason, count in reasons.items() if not is_admitted(reason) and count
    }
    if not denials:
        return Text("no denials", style="dim")
    reason = max(denials, key=lambda name: (denials[name], name))
    text = Text("most denied ", style="dim")
    text.append(reason, style="bold #ff6b6b")
    text.append(f" ×{format_count(denials[reason])}", style="bold")
    return text


def _scanners_text(view: GateView) -> Text:
    text = Text()
    for index, scanner in enumerate(view.scanners):
        if index:
            text.append(" ")
        connected = scanner.get("connected")
        if connected is None:
            mark, style = "?", "dim"
        elif connected:
            mark, style = "●", "bold green"
        else:
            mark, style = "✘", "bold red"
        text.append(mark, style=style)
        text.append(f" {scanner.get('name', '?')}")
        if connected is False:
            text.append(" OFFLINE", style="bold red")
    return text or Text("no scanners", style="dim")
