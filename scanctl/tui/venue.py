"""The whole venue in one TUI: several gate computers' local APIs followed at once.

A venue file (TOML) lists the boxes::

    name = "Arena"            # optional
    [[box]]
    name = "gate-a"           # letters, digits, - and _
    socket = "/run/scanctl/daemon.sock"
    [[box]]
    name = "gate-b"
    socket = "/run/scanctl/gate-b.sock"   # e.g. forwarded: ssh -L <this>:<its socket> gate-b

``VenueSource`` runs one ``LiveSource`` per box and merges what they say into what one
daemon would say, with the box in every name: gate ``north`` of box ``gate-a`` is
``north@gate-a`` on cards, in the log and in alerts; alert and conflict ids are
``gate-a/<id>``. Actions go back to the box the name says. Each box's link (the TUI's
connection to it, its backend, outbox, manifest) is kept in ``status["boxes"]``, the one
place the screens read a box's link state from (``box_links``).
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from textual.message import Message

from scanctl.tui.errors import DaemonRefused
from scanctl.tui.messages import DaemonEvents, DaemonSnapshot, LinkState, LinkUpdate
from scanctl.tui.model import LOG_KEEP
from scanctl.tui.source import Backoff, LiveSource, Post

__all__ = ["Box", "Venue", "VenueError", "VenueSource", "box_of", "load_venue"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SEPARATOR = "@"
"""Between a gate's name and its box's: ``north@gate-a``."""


class VenueError(ValueError):
    """The venue file cannot be used; the message names every problem."""


@dataclass(frozen=True)
class Box:
    name: str
    socket: Path


@dataclass(frozen=True)
class Venue:
    name: str
    boxes: tuple[Box, ...]


def load_venue(path: Path) -> Venue:
    """Read and check a venue file; every problem is reported at once."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise VenueError(f"{path}: {error}") from None
    return parse_venue(data, default_name=path.stem)


def parse_venue(data: Any, *, default_name: str = "venue") -> Venue:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise VenueError("a venue file is a TOML table")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        problems.append("name: a non-empty string")
        name = default_name
    unknown = sorted(set(data) - {"name", "box"})
    if unknown:
        problems.append(f"unknown keys: {', '.join(unknown)}")
    tables = data.get("box")
    boxes: list[Box] = []
    if not isinstance(tables, list) or not tables:
        problems.append("at least one [[box]] with name and socket")
        tables = []
    for index, table in enumerate(tables):
        where = f"box {index + 1}"
        if not isinstance(table, dict):
            problems.append(f"{where}: a table with name and socket")
            continue
        box_name, socket = table.get("name"), table.get("socket")
        if not isinstance(box_name, str) or not _NAME.match(box_name):
            problems.append(f"{where}: name: 1 to 40 letters, digits, - or _")
            continue
        if not isinstance(socket, str) or not socket:
            problems.append(f"box {box_name}: socket: the path of its local API socket")
            continue
        extra = sorted(set(table) - {"name", "socket"})
        if extra:
            problems.append(f"box {box_name}: unknown keys: {', '.join(extra)}")
        if any(box.name == box_name for box in boxes):
            problems.append(f"box {box_name}: named twice")
        boxes.append(Box(box_name, Path(socket).expanduser()))
    if problems:
        raise VenueError("; ".join(problems))
    return Venue(name.strip(), tuple(boxes))


def box_of(name: str) -> tuple[str, str]:
    """``north@gate-a`` → (``north``, ``gate-a``); ``gate-a/7`` → (``7``, ``gate-a``)."""
    if SEPARATOR in name:
        local, _, box = name.rpartition(SEPARATOR)
        return local, box
    box, _, local = name.partition("/")
    return local, box


@dataclass
class _BoxView:
    """What one box said last."""

    link: LinkUpdate = field(default_factory=lambda: LinkUpdate(LinkState.CONNECTING))
    status: dict[str, Any] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)


class VenueSource:
    """Every box of a venue, as one source (see the module's docstring)."""

    tz: tzinfo | None = None

    def __init__(
        self, venue: Venue, *, poll_s: float = 1.0, backoff: Backoff | None = None
    ) -> None:
        self.venue = venue
        self.box = venue.name
        self.sources = {
            box.name: LiveSource(
                box.socket,
                poll_s=poll_s,
                backoff=backoff or Backoff(),
                box=box.name,
            )
            for box in venue.boxes
        }
        self.views = {box.name: _BoxView() for box in venue.boxes}

    def now_ms(self) -> int:
        return next(iter(self.sources.values())).now_ms()

    async def run(self, post: Post) -> None:
        await asyncio.gather(
            *(source.run(self._poster(name, post)) for name, source in self.sources.items())
        )

    def _poster(self, box: str, post: Post) -> Post:
        def take(message: Message) -> None:
            self._take(box, message, post)

        return take

    # -- merging what the boxes say ---------------------------------------------------

    def _take(self, box: str, message: Message, post: Post) -> None:
        view = self.views[box]
        if isinstance(message, LinkUpdate):
            view.link = message
            post(self._link())
            post(self._snapshot(recent=False))  # the boxes' link states changed
        elif isinstance(message, DaemonSnapshot):
            view.status, view.gates, view.alerts = message.status, message.gates, message.alerts
            if message.conflicts is not None:
                view.conflicts = message.conflicts
            if message.recent is not None:
                view.recent = [_tag_row(row, box) for row in message.recent]
            post(self._snapshot(recent=message.recent is not None))
        elif isinstance(message, DaemonEvents):
            events = [_tag_event(event, box) for event in message.events]
            post(DaemonEvents(events, message.oldest_at, message.received))

    def _link(self) -> LinkUpdate:
        """Online while any box is: a box out of reach shows on its own line."""
        states = {view.link.state for view in self.views.values()}
        online = sum(view.link.state is LinkState.ONLINE for view in self.views.values())
        detail = f"{online} of {len(self.views)} boxes answer"
        if LinkState.ONLINE in states:
            return LinkUpdate(LinkState.ONLINE, detail)
        if states == {LinkState.CONNECTING}:
            return LinkUpdate(LinkState.CONNECTING, detail)
        return LinkUpdate(LinkState.OFFLINE, detail)

    def _snapshot(self, *, recent: bool) -> DaemonSnapshot:
        gates, alerts, conflicts = [], [], []
        for box, view in self.views.items():
            gates += [{**gate, "gate": f"{gate['gate']}{SEPARATOR}{box}"} for gate in view.gates]
            alerts += [_tag_alert(alert, box) for alert in view.alerts]
            conflicts += [{**c, "id": f"{box}/{c.get('id')}", "box": box} for c in view.conflicts]
        rows = None
        if recent:
            merged = [row for view in self.views.values() for row in view.recent]
            rows = sorted(merged, key=lambda row: -int(row.get("scanned_at_ms") or 0))[:LOG_KEEP]
        return DaemonSnapshot(self._status(), gates, alerts, rows, conflicts)

    def _status(self) -> dict[str, Any]:
        totals: dict[str, Any] = {"admitted": 0, "denied": 0, "inside": {}, "tickets_in": 0}
        manifest_tickets = 0
        for view in self.views.values():
            box_totals = view.status.get("totals") or {}
            for key in ("admitted", "denied", "tickets_in"):
                totals[key] += int(box_totals.get(key, 0))
            for zone, count in (box_totals.get("inside") or {}).items():
                totals["inside"][zone] = totals["inside"].get(zone, 0) + int(count)
            manifest_tickets = max(manifest_tickets, int(box_totals.get("manifest_tickets", 0)))
        # Each box knows the passes it decided: a ticket in at one box and out at another
        # stays "inside" at the first. The venue's entries less its exits bound that.
        exits = sum(
            int((gate.get("reasons") or {}).get("EXITED", 0))
            for view in self.views.values()
            for gate in view.gates
        )
        totals["inside_cap"] = max(0, totals["admitted"] - 2 * exits)
        totals["manifest_tickets"] = manifest_tickets
        return {
            "venue": self.venue.name,
            "state": "running",
            "totals": totals,
            "boxes": [self._box_link(box, view) for box, view in self.views.items()],
        }

    @staticmethod
    def _box_link(box: str, view: _BoxView) -> dict[str, Any]:
        link = view.status.get("link") or {}
        return {
            "box": box,
            "link": view.link.state.value,
            "detail": view.link.detail,
            "retry_in_s": view.link.retry_in_s,
            # An offline-only box has no backend to be cut off from.
            "backend_online": link.get("online") if link.get("backend") else None,
            "unsent": (view.status.get("journal") or {}).get("unsent"),
            "manifest_stale": bool((view.status.get("manifest") or {}).get("stale")),
        }

    # -- what the supervisor asks, sent to the box the name says ----------------------

    def _source(self, box: str) -> LiveSource:
        source = self.sources.get(box)
        if source is None:
            raise DaemonRefused(f"no box named {box!r} in this venue", 404)
        return source

    async def scans(
        self,
        *,
        limit: int = 200,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]:
        boxes = list(self.sources)
        local_gate = None
        if gate:
            local_gate, box = box_of(gate)
            boxes = [box]
        answers = await asyncio.gather(
            *(
                self._source(box).scans(limit=limit, gate=local_gate, reason=reason, ticket=ticket)
                for box in boxes
            ),
            return_exceptions=True,
        )
        rows = []
        for box, answer in zip(boxes, answers, strict=True):
            if isinstance(answer, BaseException):
                if len(boxes) == 1:
                    raise answer
                continue  # a box out of reach: the others' scans still show
            rows += [_tag_row(row, box) for row in answer]
        return sorted(rows, key=lambda row: -int(row.get("scanned_at_ms") or 0))[:limit]

    async def set_paused(self, gate: str, paused: bool) -> None:
        local, box = box_of(gate)
        await self._source(box).set_paused(local, paused)

    async def acknowledge(self, alert_id: str) -> None:
        local, box = box_of(alert_id)
        await self._source(box).acknowledge(local)

    async def acknowledge_conflict(self, conflict_id: str) -> None:
        local, box = box_of(conflict_id)
        await self._source(box).acknowledge_conflict(local)

    async def override(self, body: dict[str, Any]) -> dict[str, Any]:
        raise DaemonRefused("overrides are made at one box: `scanctl tui --socket` on it", 400)

    async def aclose(self) -> None:
        await asyncio.gather(*(source.aclose() for source in self.sources.values()))


def _tag_row(row: dict[str, Any], box: str) -> dict[str, Any]:
    tagged = {**row, "box": box}
    if row.get("gate"):
        tagged["gate"] = f"{row['gate']}{SEPARATOR}{box}"
    if row.get("scan_id"):
        tagged["scan_id"] = f"{box}/{row['scan_id']}"
    return tagged


def _tag_alert(alert: dict[str, Any], box: str) -> dict[str, Any]:
    tagged = {**alert, "id": f"{box}/{alert.get('id')}", "box": box}
    for key in ("gate", "scanner"):
        if alert.get(key):
            tagged[key] = f"{alert[key]}{SEPARATOR}{box}"
    if not alert.get("gate") and not alert.get("scanner"):
        tagged["gate"] = box  # a daemon-wide alert: where is the box
    return tagged


def _tag_event(event: dict[str, Any], box: str) -> dict[str, Any]:
    kind = event.get("type")
    if kind == "alert":
        return _tag_alert(event, box)
    if kind == "conflict":
        return {**event, "id": f"{box}/{event.get('id')}", "box": box}
    tagged = _tag_row(event, box)
    if kind == "state":
        tagged["state"] = "running"  # one box draining is its own line, not the venue's
    return tagged
