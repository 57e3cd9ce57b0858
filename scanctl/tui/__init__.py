"""The Textual app for door supervisors (`scanctl tui`), on the daemon's local API only."""

from scanctl.tui.app import DoorApp, build_app
from scanctl.tui.client import DaemonClient
from scanctl.tui.errors import DaemonRefused, DaemonUnavailable, TuiError
from scanctl.tui.recorded import RecordedSource
from scanctl.tui.source import DoorSource, LiveSource
from scanctl.tui.venue import VenueError, VenueSource, load_venue

__all__ = [
    "DaemonClient",
    "DaemonRefused",
    "DaemonUnavailable",
    "DoorApp",
    "DoorSource",
    "LiveSource",
    "RecordedSource",
    "TuiError",
    "VenueError",
    "VenueSource",
    "build_app",
    "load_venue",
]
