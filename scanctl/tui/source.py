"""Where the app's data comes from: a live daemon, or a recorded stream (tests, demos).

A source ``run()``s in a worker and posts ``LinkUpdate``, ``DaemonSnapshot`` and
``DaemonEvents`` messages to the app; the app asks it for scan history and sends it
the supervisor's actions. The app never knows which kind it has.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any, NoReturn, Protocol

from textual.message import Message

from scanctl.tui.client import DaemonClient
from scanctl.tui.coalesce import Coalescer
from scanctl.tui.errors import DaemonUnavailable, TuiError
from scanctl.tui.messages import DaemonSnapshot, LinkState, LinkUpdate
from scanctl.tui.model import LOG_KEEP

__all__ = ["Backoff", "DoorSource", "LiveSource", "Post"]

Post = Callable[[Message], object]

POLL_S = 1.0


class DoorSource(Protocol):
    """What the app needs from wherever its data comes from."""

    tz: tzinfo | None
    """Time zone for times of day (None: the machine's local time)."""

    box: str
    """The gate computer's name, shown on every screen."""

    def now_ms(self) -> int:
        """The clock that ages are measured against (frozen for a recording)."""
        ...

    async def run(self, post: Post) -> None:
        """Post messages until cancelled."""
        ...

    async def scans(
        self,
        *,
        limit: int = 200,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]: ...

    async def set_paused(self, gate: str, paused: bool) -> None: ...

    async def acknowledge(self, alert_id: str) -> None: ...

    async def acknowledge_conflict(self, conflict_id: str) -> None: ...

    async def override(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


class Backoff:
    """Delays between reconnection attempts: quick at first, then every ``cap_s``."""

    def __init__(self, first_s: float = 0.25, cap_s: float = 3.0) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self.attempt = 0

    def next_delay(self) -> float:
        self.attempt += 1
        return float(min(self.cap_s, self.first_s * 2 ** (self.attempt - 1)))

    def reset(self) -> None:
        self.attempt = 0


class LiveSource:
    """A running daemon's local API: events as they happen, a snapshot every second,
    reconnecting with back-off whenever the daemon goes away."""

    tz: tzinfo | None = None

    def __init__(
        self,
        socket_path: Path,
        *,
        client: DaemonClient | None = None,
        poll_s: float = POLL_S,
        backoff: Backoff | None = None,
        box: str | None = None,
    ) -> None:
        self.socket_path = socket_path
        # The TUI usually runs on the gate computer itself: its host name names the box.
        self.box = box or socket.gethostname()
        self.client = client or DaemonClient(socket_path)
        self.poll_s = poll_s
        self.backoff = backoff or Backoff()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def run(self, post: Post) -> None:
        post(LinkUpdate(LinkState.CONNECTING, f"connecting to {self.socket_path}"))
        while True:
            try:
                await self._session(post)
            except TuiError as error:
                detail = str(error)
            except (KeyError, TypeError, ValueError) as error:
                # An answer of an unexpected shape (a daemon of another version):
                # say so and keep retrying rather than take the screen down.
                detail = f"unexpected answer from the daemon: {error!r}"
            delay = self.backoff.next_delay()
            post(LinkUpdate(LinkState.OFFLINE, detail, self.backoff.attempt, delay))
            await asyncio.sleep(delay)  # back-off before the next attempt

    async def _session(self, post: Post) -> NoReturn:
        # Subscribe first, then read the snapshot: no event falls between the two.
        async with self.client.events() as events:
            await self._snapshot(post, with_recent=True)
            self.backoff.reset()
            post(LinkUpdate(LinkState.ONLINE, f"connected to {self.socket_path}"))
            coalescer = Coalescer(post)
            await _first_to_end(self._read(events, coalescer), coalescer.run(), self._poll(post))

    async def _snapshot(self, post: Post, *, with_recent: bool = False) -> None:
        status, gates, alerts, conflicts = await asyncio.gather(
            self.client.status(),
            self.client.gates(),
            self.client.alerts(),
            self.client.conflicts(),
        )
        recent = await self.client.scans(limit=LOG_KEEP) if with_recent else None
        post(DaemonSnapshot(status, gates, alerts, recent, conflicts))

    async def _read(self, events: AsyncIterator[dict[str, Any]], coalescer: Coalescer) -> None:
        async for event in events:
            coalescer.add(event)
        coalescer.flush()

    async def _poll(self, post: Post) -> None:
        while True:
            await asyncio.sleep(self.poll_s)  # the snapshot period, not a wait
            await self._snapshot(post)

    async def scans(
        self,
        *,
        limit: int = 200,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]:
        return await self.client.scans(limit=limit, gate=gate, reason=reason, ticket=ticket)

    async def set_paused(self, gate: str, paused: bool) -> None:
        await self.client.set_paused(gate, paused)

    async def acknowledge(self, alert_id: str) -> None:
        await self.client.acknowledge(alert_id, f"tui:{_user()}")

    async def acknowledge_conflict(self, conflict_id: str) -> None:
        await self.client.acknowledge_conflict(conflict_id, f"tui:{_user()}")

    async def override(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.client.override(body)

    async def aclose(self) -> None:
        await self.client.aclose()


def _user() -> str:
    """Who is at the keyboard, for the acknowledgement's record."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "supervisor"


async def _first_to_end(*jobs: Awaitable[None]) -> NoReturn:
    """Run the jobs together until one ends; cancel the rest and re-raise its error.

    Every job is meant to run for the whole session, so one ending means the session
    is over: the event stream closed, or a read failed."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
    raise DaemonUnavailable("the daemon closed its event stream")
