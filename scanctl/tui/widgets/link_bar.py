"""The top line of every screen: is the daemon there, is the backend, does anything need you."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from scanctl.tui.messages import LinkState
from scanctl.tui.model import DoorState
from scanctl.tui.present import format_count
from scanctl.tui.widgets.mesh_panel import mesh_summary

__all__ = ["LinkBar", "box_link_text", "link_text"]


class LinkBar(Static):
    """One line, always visible; red when the daemon is out of reach."""

    DEFAULT_CSS = """
    LinkBar {
        dock: top;
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    LinkBar.-offline { background: $error 40%; }
    """

    def show(self, state: DoorState) -> None:
        self.set_class(state.link.state is LinkState.OFFLINE, "-offline")
        self.update(link_text(state))


def link_text(state: DoorState) -> Text:
    link = state.link
    text = Text()
    if state.box:
        text.append(f"{state.box} ", style="bold reverse")
        text.append(" ")
    if link.state is LinkState.RECORDED:
        # Never to be mistaken for the door as it is now.
        text.append(f"■ RECORDED {link.detail.removeprefix('replaying ')}", style="bold magenta")
    elif link.state is LinkState.ONLINE:
        text.append("● LIVE", style="bold green")
        if state.daemon_state == "draining":
            text.append(" daemon draining", style="bold yellow")
    elif link.state is LinkState.CONNECTING:
        text.append("◌ CONNECTING", style="bold yellow")
    else:
        text.append("✘ DAEMON UNREACHABLE", style="bold red")
        if link.retry_in_s is not None:
            text.append(f" retry #{link.attempt} in {link.retry_in_s:.1f} s", style="bold")
        return text
    status = state.status
    if "boxes" in status:  # a venue: each box's link, in a word
        for box in status["boxes"]:
            text.append("  │ ", style="dim")
            text.append_text(box_link_text(box, short=True))
        _alerts(state, text)
        return text
    backend = status.get("link") or {}
    if backend:
        if backend.get("online"):
            text.append("  │ backend ✔ online", style="green")
        else:
            text.append("  │ backend ✘ OFFLINE", style="bold yellow")
    journal = status.get("journal") or {}
    if "unsent" in journal:
        text.append(f"  │ outbox {format_count(int(journal['unsent']))}")
    manifest = status.get("manifest") or {}
    if manifest.get("stale"):
        text.append("  │ ✘ MANIFEST STALE", style="bold red")
    _alerts(state, text)
    mesh = status.get("mesh")
    if mesh:  # after the alerts: at 80 columns, those must not be the ones cut off
        text.append("  │ ")
        text.append_text(mesh_summary(mesh, short=True))
    return text


def _alerts(state: DoorState, text: Text) -> None:
    waiting = len(state.unacknowledged())
    if waiting:
        text.append(f"  │ ⚠ {waiting} alert{'s' if waiting != 1 else ''}", style="bold red")


def box_link_text(box: dict[str, Any], *, short: bool = False) -> Text:
    """One box's link state — the TUI's connection to it, its backend, its outbox, its
    manifest — the one place it is put in words (the top line; the Link screen)."""
    text = Text(f"{box.get('box')} ", style="bold")
    link = box.get("link")
    if link == LinkState.ONLINE:
        text.append("● live", style="bold green")
    elif link == LinkState.CONNECTING:
        text.append("◌ connecting", style="bold yellow")
    else:
        text.append("✘ UNREACHABLE", style="bold red")
        if not short and box.get("detail"):
            text.append(f" ({box['detail']})", style="dim")
        return text
    backend = box.get("backend_online")
    if backend is False:
        text.append(" backend ✘", style="bold yellow")
    elif not short and backend:
        text.append(" backend ✔", style="green")
    unsent = box.get("unsent")
    if not short and unsent is not None:
        text.append(f" outbox {format_count(int(unsent))}")
    if box.get("manifest_stale"):
        text.append(" ✘ MANIFEST STALE", style="bold red")
    return text
