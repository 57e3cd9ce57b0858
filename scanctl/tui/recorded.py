"""A recorded, deterministic door: a JSON-lines file (or a list) replayed into the app.

Each line is one record, by ``kind``:

- ``{"kind": "clock", "now_ms": …, "tz": "UTC", "box": "…"}`` — the frozen "now" ages
  are measured against, the zone times of day are shown in, the gate computer's name;
- ``{"kind": "snapshot", "status": {…}, "gates": […], "alerts": […], "conflicts": […]}``
  — as the daemon's ``/status``, ``/gates``, ``/alerts`` and ``/conflicts`` would answer;
- ``{"kind": "scans", "scans": […]}`` — the journal that ``/scans`` queries filter;
- ``{"kind": "event", "event": {…}}`` — one ``/events`` event, in order.

Snapshot tests and demos use it; the supervisor's actions change the recording in
memory and come back as events, as a daemon's would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scanctl.tui.coalesce import Coalescer
from scanctl.tui.errors import DaemonRefused
from scanctl.tui.messages import DaemonSnapshot, LinkState, LinkUpdate
from scanctl.tui.model import LOG_KEEP
from scanctl.tui.source import Post

__all__ = ["RecordedSource"]


class RecordedSource:
    """Replays records once, then holds still (a door frozen at the recording's end)."""

    def __init__(self, records: Iterable[dict[str, Any]], *, name: str = "recording") -> None:
        self.name = name
        self.box = "recorded-box"
        self.frozen_ms = 0
        self.tz: tzinfo | None = UTC
        self.status: dict[str, Any] = {}
        self.gates: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.conflicts: list[dict[str, Any]] = []
        self.journal: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.overrides: list[dict[str, Any]] = []
        self._post: Post | None = None
        for record in records:
            self._take(record)

    @classmethod
    def from_file(cls, path: Path) -> RecordedSource:
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls((json.loads(line) for line in lines if line.strip()), name=path.name)

    def _take(self, record: dict[str, Any]) -> None:
        kind = record.get("kind")
        if kind == "clock":
            self.frozen_ms = int(record["now_ms"])
            self.box = str(record.get("box") or self.box)
            zone = record.get("tz")
            self.tz = ZoneInfo(zone) if zone else None
        elif kind == "snapshot":
            self.status = dict(record.get("status") or {})
            self.gates = list(record.get("gates") or [])
            self.alerts = list(record.get("alerts") or [])
            self.conflicts = list(record.get("conflicts") or [])
        elif kind == "scans":
            self.journal = list(record.get("scans") or [])
        elif kind == "event":
            self.events.append(dict(record["event"]))
        else:
            raise ValueError(f"unknown record kind {kind!r}")

    def now_ms(self) -> int:
        return self.frozen_ms

    async def run(self, post: Post) -> None:
        self._post = post
        post(LinkUpdate(LinkState.RECORDED, f"replaying {self.name}"))
        replayed = {event.get("scan_id") for event in self.events}
        recent = [row for row in await self.scans(limit=LOG_KEEP) if row["scan_id"] not in replayed]
        post(DaemonSnapshot(self.status, self.gates, self.alerts, recent, self.conflicts))
        coalescer = Coalescer(post)
        for event in self.events:
            coalescer.add(event)
        coalescer.flush()
        await asyncio.Event().wait()  # a recording has no more to say

    async def scans(
        self,
        *,
        limit: int = 200,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]:
        rows = sorted(self.journal, key=lambda row: -int(row.get("scanned_at_ms", 0)))
        return [
            row
            for row in rows
            if (not gate or row.get("gate") == gate)
            and (not reason or row.get("reason") == reason)
            and (not ticket or row.get("ticket_id") == ticket)
        ][:limit]

    async def set_paused(self, gate: str, paused: bool) -> None:
        if not any(entry.get("gate") == gate for entry in self.gates):
            raise DaemonRefused(f"no gate named {gate!r}", 404)
        self._emit({"type": "gate", "gate": gate, "paused": paused, "at_ms": self.frozen_ms})

    async def override(self, body: dict[str, Any]) -> dict[str, Any]:
        """Keep the override (a recording decides nothing) and show it as the daemon would."""
        view = {"type": "override", **body, "at_ms": self.frozen_ms, "in_force": True}
        self.overrides.append(view)
        self._emit(view)
        return view

    async def acknowledge(self, alert_id: str) -> None:
        for alert in self.alerts:
            if str(alert.get("id")) == alert_id:
                alert.update(acknowledged=True, acked_by="recording", acked_at_ms=self.frozen_ms)
                self._emit({**alert, "type": "alert"})
                return
        raise DaemonRefused(f"no alert {alert_id!r}", 404)

    async def acknowledge_conflict(self, conflict_id: str) -> None:
        for conflict in self.conflicts:
            if str(conflict.get("id")) == conflict_id:
                conflict.update(acknowledged=True, acked_by="recording", acked_at_ms=self.frozen_ms)
                self._emit({**conflict, "type": "conflict"})
                return
        raise DaemonRefused(f"no conflict {conflict_id!r}", 404)

    def _emit(self, event: dict[str, Any]) -> None:
        if self._post is not None:
            coalescer = Coalescer(self._post)
            coalescer.add(event)
            coalescer.flush()

    async def aclose(self) -> None:
        self._post = None
