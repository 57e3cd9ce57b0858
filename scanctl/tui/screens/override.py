"""The override dialog: what gates do on an expired manifest, until when, and who says so."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

__all__ = ["OVERRIDE_CHOICES", "OverrideScreen", "override_body"]

OVERRIDE_CHOICES: tuple[tuple[str, str], ...] = (
    ("admit-with-warning", "Admit with a warning for the next … minutes"),
    ("extend", "Extend the manifest's validity by … minutes (admissions warn)"),
    ("deny", "Deny every ticket for the next … minutes"),
    ("clear", "End the override: follow the event's policy again"),
)


def override_body(choice: str, minutes: int, by: str, now_ms: int) -> dict[str, Any]:
    """The daemon's ``POST /override`` body for one choice of the dialog."""
    if choice == "extend":
        return {"extend_minutes": minutes, "by": by}
    if choice == "clear":
        return {"action": None, "by": by}
    return {"action": choice, "until_ms": now_ms + minutes * 60_000, "by": by}


class OverrideScreen(ModalScreen[tuple[str, int, str] | None]):
    """Pick what to do (↑↓), type the minutes and your name; Enter on the name applies."""

    DEFAULT_CSS = """
    OverrideScreen { align: center middle; }
    OverrideScreen > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    OverrideScreen OptionList { height: auto; max-height: 8; }
    OverrideScreen .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Expired manifest: override the venue's choice on this box[/b]")
            yield OptionList(*(Option(label, id=value) for value, label in OVERRIDE_CHOICES))
            yield Input(value="60", placeholder="minutes", id="minutes", type="integer")
            yield Input(placeholder="your name (recorded with the override)", id="by")
            yield Label(
                "[b]Tab[/b] next field  [b]Enter[/b] on your name: apply  [b]Esc[/b] cancel",
                classes="hint",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#minutes", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "minutes":
            self.query_one("#by", Input).focus()
            return
        by = event.value.strip()
        if not by:
            self.notify("Say who decides: the override is recorded with your name.")
            return
        options = self.query_one(OptionList)
        choice = OVERRIDE_CHOICES[options.highlighted or 0][0]
        try:
            minutes = int(self.query_one("#minutes", Input).value or "0")
        except ValueError:
            minutes = 0
        if minutes <= 0 and choice != "clear":
            self.notify("Give the minutes (1 or more).")
            return
        self.dismiss((choice, minutes, by))

    def action_cancel(self) -> None:
        self.dismiss(None)
