"""Merges a high-rate event stream into a few ``DaemonEvents`` messages per second.

The daemon may publish a thousand decisions a second; a screen needs ten updates. The
reader only appends to a list. The first event after a quiet spell is posted at once
(a door at 5 scans a minute sees each one immediately); after a post, whatever arrives
within ``interval_s`` waits and goes in the next batch. One message per batch keeps the
app's queue short whatever the rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.message import Message

from scanctl.tui.messages import DaemonEvents

__all__ = ["DEFAULT_INTERVAL_S", "Coalescer"]

DEFAULT_INTERVAL_S = 0.1


class Coalescer:
    """Collects events with ``add()``; ``run()`` posts them in batches until cancelled."""

    def __init__(
        self,
        post: Callable[[Message], object],
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._interval_s = interval_s
        self._clock = clock
        self._pending: list[dict[str, Any]] = []
        self._oldest_at = 0.0
        self.received = 0
        self.batches = 0
        self._wake = asyncio.Event()

    def add(self, event: dict[str, Any]) -> None:
        if not self._pending:
            self._oldest_at = self._clock()
        self._pending.append(event)
        self.received += 1
        self._wake.set()

    def flush(self) -> None:
        """Post what is pending now (also called when the stream ends)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.batches += 1
        self._post(DaemonEvents(batch, self._oldest_at, self.received))

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self.flush()
                await asyncio.sleep(self._interval_s)  # at most one batch per interval
        finally:
            self.flush()
