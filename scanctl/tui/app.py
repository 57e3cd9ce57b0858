"""The door supervisor's app: five screens over one state, fed by one source."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType

from scanctl.tui.errors import TuiError
from scanctl.tui.messages import DaemonEvents, DaemonSnapshot, LinkUpdate
from scanctl.tui.model import DoorState
from scanctl.tui.screens import (
    AlertsScreen,
    ConflictsScreen,
    GatesScreen,
    HelpScreen,
    LinkScreen,
    LogScreen,
)
from scanctl.tui.screens.base import DoorScreen
from scanctl.tui.screens.override import override_body
from scanctl.tui.source import DoorSource

__all__ = ["DoorApp", "build_app"]

ShownHook = Callable[[DaemonEvents], None]


class DoorApp(App[None]):
    """``scanctl tui``. Build it with ``build_app(source)``."""

    CSS_PATH = "door.tcss"
    TITLE = "scanctl"
    ENABLE_COMMAND_PALETTE = False  # every action has its own key
    MODES: ClassVar = {
        "gates": GatesScreen,
        "log": LogScreen,
        "alerts": AlertsScreen,
        "link": LinkScreen,
        "conflicts": ConflictsScreen,
    }
    DEFAULT_MODE = "gates"
    # Textual declares this as an instance attribute, so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide"), (160, "-huge")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('gates')", "Gates", tooltip="Gates overview"),
        Binding("2", "switch_mode('log')", "Log", tooltip="Scan log, filters, ticket search"),
        Binding("3", "switch_mode('alerts')", "Alerts", tooltip="Alerts to acknowledge"),
        Binding("4", "switch_mode('link')", "Link", tooltip="Daemon, backend, outbox, manifest"),
        Binding("5", "switch_mode('conflicts')", "Conflicts", tooltip="Double entries to review"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="This list of keys"),
        Binding("q", "quit", "Quit", tooltip="Leave the TUI (the daemon keeps running)"),
        # Ctrl+C quits as in any terminal program (Textual would only hint at Ctrl+Q).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, source: DoorSource, *, on_shown: ShownHook | None = None) -> None:
        super().__init__()
        self.source = source
        self.state = DoorState(box=source.box)
        self.on_shown = on_shown

    def on_mount(self) -> None:
        self.run_worker(self.source.run(self.post_message), name="source", group="source")

    async def on_unmount(self) -> None:
        await self.source.aclose()

    # -- what the source says ------------------------------------------------------

    def on_link_update(self, message: LinkUpdate) -> None:
        self.state.link = message
        self._redraw()

    def on_daemon_snapshot(self, message: DaemonSnapshot) -> None:
        self.state.apply_snapshot(
            message.status, message.gates, message.alerts, message.recent, message.conflicts
        )
        self._redraw()

    def on_daemon_events(self, message: DaemonEvents) -> None:
        self.state.apply_events(message.events)
        self._redraw(message.events)
        if self.on_shown is not None:
            self.call_after_refresh(self.on_shown, message)

    def _redraw(self, events: list[dict[str, object]] | None = None) -> None:
        """Draw every main screen on the stack: one under a dialog shows through it,
        and its numbers must stay live while the supervisor answers."""
        try:
            stack = self.screen_stack
        except ScreenStackError:
            return  # shutting down: messages still queued find no screen to draw on
        for screen in stack:
            if isinstance(screen, DoorScreen):
                screen.redraw(events)

    # -- what the supervisor asks --------------------------------------------------

    def request_pause(self, gate: str, paused: bool) -> None:
        async def call() -> None:
            try:
                await self.source.set_paused(gate, paused)
            except TuiError as error:
                self.notify(f"Gate {gate}: {error}", severity="error")
            else:
                self.notify(f"Gate {gate} {'paused' if paused else 'resumed'}.")

        self.run_worker(call(), group="actions")

    def request_acknowledge(self, alert_id: str) -> None:
        async def call() -> None:
            try:
                await self.source.acknowledge(alert_id)
            except TuiError as error:
                self.notify(f"Alert {alert_id}: {error}", severity="error")

        self.run_worker(call(), group="actions")

    def request_acknowledge_conflict(self, conflict_id: str) -> None:
        async def call() -> None:
            try:
                await self.source.acknowledge_conflict(conflict_id)
            except TuiError as error:
                self.notify(f"Conflict {conflict_id[:12]}: {error}", severity="error")

        self.run_worker(call(), group="actions")

    def request_override(self, choice: str, minutes: int, by: str) -> None:
        """Apply a supervisor's override of what gates do on an expired manifest."""
        body = override_body(choice, minutes, by, self.source.now_ms())

        async def call() -> None:
            try:
                view = await self.source.override(body)
            except TuiError as error:
                self.notify(f"Override refused: {error}", severity="error")
            else:
                self.notify(f"Override by {by}: {view.get('action') or 'ended'}.")

        self.run_worker(call(), group="actions")

    def action_help(self) -> None:
        sections: list[tuple[str, list[BindingType]]] = [("Everywhere", list(self.BINDINGS))]
        for name, screen in (
            ("Gates", GatesScreen),
            ("Log", LogScreen),
            ("Alerts", AlertsScreen),
            ("Conflicts", ConflictsScreen),
        ):
            sections.append((name, list(screen.BINDINGS)))
        self.push_screen(HelpScreen(sections))


def build_app(source: DoorSource, *, on_shown: ShownHook | None = None) -> DoorApp:
    """The app on a live daemon (``LiveSource``) or a recording (``RecordedSource``)."""
    return DoorApp(source, on_shown=on_shown)
