"""The link: daemon, backend, outbox, manifest and the gate mesh — is this gate fit to
decide alone, and who does it hear?"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.widgets import Static

from scanctl.tui.model import DoorState
from scanctl.tui.present import format_age, format_count
from scanctl.tui.screens.base import DoorScreen
from scanctl.tui.screens.override import OverrideScreen
from scanctl.tui.widgets.link_bar import box_link_text
from scanctl.tui.widgets.mesh_panel import mesh_panel

__all__ = ["LinkScreen"]


class LinkScreen(DoorScreen):
    """Four panels of facts, and the one thing to do about them when the backend is gone
    and the manifest runs out: a supervisor's override (``o``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "o",
            "override",
            "Override",
            tooltip="On an expired manifest: admit with a warning, extend, or deny, until when",
        ),
    ]

    def action_override(self) -> None:
        def chosen(answer: tuple[str, int, str] | None) -> None:
            if answer is not None:
                self.door.request_override(*answer)

        self.app.push_screen(OverrideScreen(), chosen)

    def compose_body(self) -> ComposeResult:
        boxes = Static(id="link-boxes", classes="link-panel")
        boxes.border_title = "Boxes"
        boxes.display = False
        yield boxes
        with Grid(id="link-grid"):
            for name, title in (
                ("daemon", "Daemon"),
                ("backend", "Backend"),
                ("outbox", "Outbox"),
                ("manifest", "Manifest"),
            ):
                panel = Static(id=f"link-{name}", classes="link-panel")
                panel.border_title = title
                yield panel
        mesh = Static(id="link-mesh", classes="link-panel")
        mesh.border_title = "Gate mesh"
        yield mesh

    def show(self, state: DoorState, events: list[dict[str, Any]] | None) -> None:
        status = state.status
        venue = "boxes" in status
        self.query_one("#link-boxes", Static).display = venue
        self.query_one("#link-grid", Grid).display = not venue
        self.query_one("#link-mesh", Static).display = not venue
        if venue:  # one line per box; each box's own screen has the full panels
            lines = Text("\n").join(box_link_text(box) for box in status["boxes"])
            self.query_one("#link-boxes", Static).update(lines)
            return
        now_ms = self.door.source.now_ms()
        self.query_one("#link-daemon", Static).update(_daemon(state, status))
        self.query_one("#link-backend", Static).update(_backend(status, now_ms))
        self.query_one("#link-outbox", Static).update(_outbox(status))
        self.query_one("#link-manifest", Static).update(_manifest(status, now_ms))
        self.query_one("#link-mesh", Static).update(mesh_panel(status.get("mesh"), now_ms))


def _facts(*rows: tuple[str, str | Text]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for label, value in rows:
        table.add_row(label, value)
    return table


def _flag(ok: bool, good: str, bad: str) -> Text:
    return Text(f"✔ {good}", style="bold green") if ok else Text(f"✘ {bad}", style="bold red")


def _daemon(state: DoorState, status: dict[str, Any]) -> Table:
    return _facts(
        ("connection", Text(state.link.state.value.upper(), style="bold")),
        ("state", str(state.daemon_state or "—")),
        ("mode", str(status.get("mode", "—"))),
        ("device", str(status.get("device_id", "—"))[:18]),
        ("uptime", format_age(float(status.get("uptime_s", 0)) * 1000)),
    )


def _backend(status: dict[str, Any], now_ms: int) -> Table:
    link = status.get("link") or {}
    last_sync = link.get("last_sync_ms")
    return _facts(
        ("backend", str(link.get("backend") or "—")),
        ("state", _flag(bool(link.get("online")), "online", "OFFLINE")),
        ("circuit", str(link.get("circuit", "—"))),
        ("last sync", f"{format_age(now_ms - int(last_sync))} ago" if last_sync else "never"),
    )


def _outbox(status: dict[str, Any]) -> Table:
    journal = status.get("journal") or {}
    unsent = int(journal.get("unsent", 0))
    depth = Text(format_count(unsent), style="bold yellow" if unsent else "bold green")
    return _facts(
        ("unsent scans", depth),
        ("journaled", format_count(int(journal.get("scans", 0)))),
    )


def _manifest(status: dict[str, Any], now_ms: int) -> Table:
    manifest = status.get("manifest") or {}
    if not manifest.get("held"):
        return _facts(("manifest", Text("✘ NONE HELD", style="bold red")))
    valid_until = manifest.get("valid_until_ms")
    left = int(valid_until) - now_ms if valid_until else None
    by_status = manifest.get("by_status") or {}
    override = status.get("override") or {}
    in_force = (
        (
            (
                "override",
                Text(f"⚠ {override.get('action')} ({override.get('by')})", style="bold #e0a800"),
            ),
        )
        if override.get("in_force")
        else ()
    )
    return _facts(
        ("state", _flag(not manifest.get("stale"), "fresh", "STALE")),
        ("sequence", str(manifest.get("sequence", "—"))),
        ("tickets", format_count(int(manifest.get("tickets", 0)))),
        ("age", format_age(manifest.get("age_ms"))),
        ("valid for", format_age(left) if left and left > 0 else "expired"),
        *in_force,
        *(
            (str(name).lower(), format_count(int(count)))
            for name, count in sorted(by_status.items())
        ),
    )
