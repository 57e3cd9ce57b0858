"""The supervisor TUI's screens, one module per area."""

from scanctl.tui.screens.alerts import AlertsScreen
from scanctl.tui.screens.conflicts import ConflictsScreen
from scanctl.tui.screens.dialogs import ConfirmScreen, PickScreen, TicketPrompt
from scanctl.tui.screens.gates import GatesScreen
from scanctl.tui.screens.help import HelpScreen
from scanctl.tui.screens.link import LinkScreen
from scanctl.tui.screens.log import LogScreen

__all__ = [
    "AlertsScreen",
    "ConfirmScreen",
    "ConflictsScreen",
    "GatesScreen",
    "HelpScreen",
    "LinkScreen",
    "LogScreen",
    "PickScreen",
    "TicketPrompt",
]
