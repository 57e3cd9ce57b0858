"""Bounded exponential back-off and log-once bookkeeping for readers that lose their device."""

from __future__ import annotations

import logging

__all__ = ["Backoff", "OutageLog"]


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
