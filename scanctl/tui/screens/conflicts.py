"""Conflicts: double entries this gate took part in, each with ticket, gates and times;
``k`` (or Enter) acknowledges the selected one."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.text import Text

from scanctl.tui.model import DoorState
from scanctl.tui.present import format_time
from scanctl.tui.screens.review import ReviewScreen

__all__ = ["KIND_LABELS", "ConflictsScreen", "admissions_line"]

KIND_LABELS = {
    "same-code": "Same code (screenshot)",
    "same-printed-code": "Same printed code",
    "entry-without-exit": "In twice, no exit",
    "over-allowance": "Too many entries",
}


def admissions_line(conflict: dict[str, Any], tz: tzinfo | None) -> str:
    """'north 19:00:01 first · south 19:01:12 (here)': every admission, where and when."""
    parts = []
    for admission in conflict.get("admissions") or []:
        where = admission.get("gate") or str(admission.get("device_id") or "?")[:8]
        if admission.get("lane"):
            where += f"/{admission['lane']}"
        part = f"{where} {format_time(admission.get('scanned_at_ms'), tz)}"
        if admission.get("first"):
            part += " first"
        if admission.get("mine"):
            part += " (here)"
        parts.append(part)
    return " · ".join(parts)


class ConflictsScreen(ReviewScreen):
    """Each double entry reported to this gate; acknowledging records who and when."""

    NAME = "conflict"
    COLUMNS = (
        ("Ack", 3),
        ("Ticket", 8),
        ("Kind", 22),
        ("Known", 8),
        ("Gates and times", None),
    )

    def items(self, state: DoorState) -> list[dict[str, Any]]:
        return state.conflict_list()

    def summary(self, state: DoorState, items: list[dict[str, Any]]) -> Text:
        text = Text()
        if not items:
            return text.append("✔ No double entries reported", style="bold green")
        plural = "entries" if len(items) != 1 else "entry"
        text.append(f"{len(items)} double {plural}", style="bold")
        waiting = len(state.open_conflicts())
        if waiting:
            text.append(f"   ⚠ {waiting} to review", style="bold red")
        else:
            text.append("   all acknowledged", style="dim")
        return text

    def fingerprint(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return (item.get("id"), item.get("acknowledged"), len(item.get("admissions") or []))

    def row(self, item: dict[str, Any]) -> tuple[Text | str, ...]:
        tz = self.door.source.tz
        acked = bool(item.get("acknowledged"))
        return (
            Text("✔" if acked else "!", style="green" if acked else "bold red"),
            str(item.get("ticket_id") or ""),
            KIND_LABELS.get(str(item.get("kind")), str(item.get("kind"))),
            format_time(item.get("first_seen_ms"), tz),
            admissions_line(item, tz),
        )

    def detail(self, item: dict[str, Any]) -> Text:
        """The selected conflict in full, with who acknowledged it."""
        tz = self.door.source.tz
        text = Text(f"Ticket {item.get('ticket_id')}: ", style="bold")
        text.append(KIND_LABELS.get(str(item.get("kind")), str(item.get("kind"))))
        text.append(f" — {admissions_line(item, tz)}")
        if item.get("acknowledged"):
            at = format_time(item.get("acked_at_ms"), tz)
            text.append(f"   acknowledged by {item.get('acked_by')} at {at}", "dim")
        return text

    def lookup(self, state: DoorState, key: str) -> dict[str, Any] | None:
        return state.conflicts.get(key)

    def acknowledge(self, key: str) -> None:
        self.door.request_acknowledge_conflict(key)
