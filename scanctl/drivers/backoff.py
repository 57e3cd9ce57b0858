"""Reopening lost devices: bounded exponential back-off, log-once outages, reconnect counts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from scanctl.drivers.counters import DriverCounters

__all__ = ["Backoff", "OutageLog", "Reconnector"]

T = TypeVar("T")


class Backoff:
    """Delays that double from ``initial`` up to ``maximum`` seconds; ``reset()`` on success.

    No jitter: each driver talks to its own device, so there is no herd to spread out.
    """

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, factor: float = 2.0) -> None:
        if not 0 < initial <= maximum or factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    def next_delay(self) -> float:
        """The delay to wait before the next attempt (grows each call, up to the maximum)."""
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        return delay

    def reset(self) -> None:
        """Back to the initial delay, after a successful attempt."""
        self._next = self.initial


class OutageLog:
    """Logs a device outage once when it starts and once when it ends, not per retry.

    A scanner unplugged for an hour would otherwise fill the journal with one line per
    attempt; the retries themselves go to DEBUG.
    """

    def __init__(self, logger: logging.Logger, name: str) -> None:
        self._logger = logger
        self._name = name
        self.down = False

    def lost(self, what: str, error: BaseException | str) -> None:
        """Record a failure; only the first of an outage is a warning."""
        if self.down:
            self._logger.debug("%s: still unavailable (%s): %s", self._name, what, error)
            return
        self.down = True
        self._logger.warning("%s: %s: %s; retrying with back-off", self._name, what, error)

    def recovered(self) -> bool:
        """Record a success; returns whether it ended an outage."""
        if not self.down:
            return False
        self.down = False
        self._logger.warning("%s: device back", self._name)
        return True


class Reconnector:
    """The open-retry-close life of one driver's device, shared by serial, HID and TCP.

    ``open()`` tries until it succeeds or the driver is closed, logging the outage once
    and backing off between attempts; after a loss it waits before the first attempt
    too, or a device that opens and fails at once would be retried in a tight loop.
    The back-off only resets on ``proven()`` (data was read), for the same reason.
    """

    def __init__(
        self,
        logger: logging.Logger,
        name: str,
        counters: DriverCounters,
        backoff: Backoff | None = None,
    ) -> None:
        self.outage = OutageLog(logger, name)
        self.backoff = backoff if backoff is not None else Backoff()
        self.counters = counters
        self._ever_opened = False
        self._closing = asyncio.Event()

    @property
    def closed(self) -> bool:
        """Whether the driver has been closed."""
        return self._closing.is_set()

    def close(self) -> None:
        """Stop retrying; a pending ``open()`` returns None at once."""
        self._closing.set()

    async def wait_closed(self) -> None:
        """Return once the driver is closed (to race against a read)."""
        await self._closing.wait()

    async def open(
        self,
        attempt: Callable[[], Awaitable[T]],
        what: str,
        errors: tuple[type[BaseException], ...],
    ) -> T | None:
        """The result of the first ``attempt()`` not raising one of ``errors``; None if closed."""
        if self._ever_opened:
            await self.pause()
        while not self.closed:
            try:
                result = await attempt()
            except errors as error:
                self.outage.lost(what, error)
                await self.pause()
                continue
            if self._ever_opened:
                self.counters.reconnects += 1
            self._ever_opened = True
            self.outage.recovered()
            return result
        return None

    def lost(self, what: str, error: BaseException | str) -> None:
        """Record that an open device failed (logged once per outage)."""
        self.outage.lost(what, error)

    def proven(self) -> None:
        """The device delivered data: the next outage starts from the shortest delay."""
        self.backoff.reset()

    async def pause(self) -> None:
        """Wait the next back-off delay, or less if the driver is closed meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.backoff.next_delay())
