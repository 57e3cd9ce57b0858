"""Small modal dialogs: confirm an action, pick one of a list, type a ticket id."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

__all__ = ["ConfirmScreen", "PickScreen", "TicketPrompt"]

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 64; max-width: 100%; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 1 2;
}}
{name} .hint {{ color: $text-muted; margin-top: 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; ``y`` confirms, ``n`` or Escape cancels."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, verb: str) -> None:
        super().__init__()
        self.question = question
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            yield Label(f"[b]y[/b] {self.verb}    [b]n[/b] / [b]Esc[/b] cancel", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PickScreen(ModalScreen[str | None]):
    """Choose one value; Enter picks, Escape leaves things as they were."""

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="PickScreen")
        + "PickScreen OptionList { height: auto; max-height: 16; }"
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str = "") -> None:
        """``choices`` are (value, label); the value ``""`` means "no filter"."""
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]{self.title_text}[/b]")
            yield OptionList(*(Option(label, id=value or "-") for value, label in self.choices))
            yield Label("[b]↑↓[/b] move  [b]Enter[/b] choose  [b]Esc[/b] cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _ in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        value = event.option.id or "-"
        self.dismiss("" if value == "-" else value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TicketPrompt(ModalScreen[str | None]):
    """Type a ticket id (8 hex digits); Enter searches, Escape cancels."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="TicketPrompt")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Find a ticket[/b] — its whole history at every gate")
            yield Input(placeholder="ticket id, e.g. 0000002a", max_length=64)
            yield Label("[b]Enter[/b] search  [b]Esc[/b] cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip().lower() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
