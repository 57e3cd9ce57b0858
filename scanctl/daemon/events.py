"""The daemon's event stream: every decision and state change, fanned out to listeners.

Listeners (the local API's server-sent events, hence the TUI) each get a bounded queue.
A listener that falls behind loses its oldest events and is told how many, rather than
slowing the gate: the door never waits for a screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["EventBus", "Subscription"]

Event = dict[str, Any]


class Subscription:
    """One listener's queue; iterate it to receive events."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _offer(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._bus._subscribers.discard(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()


class EventBus:
    """Publish from the event loop's thread; every subscriber gets every event."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self.published = 0

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        self.published += 1
        for subscription in self._subscribers:
            subscription._offer(event)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)
