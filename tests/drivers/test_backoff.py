"""Tests for scanctl.drivers.backoff: delays, log-once outages, the reconnect loop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from scanctl.drivers import Backoff, DriverCounters, Reconnector

from ._support import eventually, run

_log = logging.getLogger("tests.drivers.backoff")


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next_delay() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next_delay() == 0.1
    with pytest.raises(ValueError, match="initial"):
        Backoff(1.0, 0.5)


def test_reconnector_logs_an_outage_once_and_counts_reconnects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = [OSError("gone"), OSError("gone"), "first", OSError("gone"), "second"]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def scenario() -> list[str | None]:
        counters = DriverCounters()
        reconnector = Reconnector(_log, "dev", counters, Backoff(0.001, 0.002))
        first = await reconnector.open(attempt, "cannot open", (OSError,))
        reconnector.lost("lost", "unplugged")
        second = await reconnector.open(attempt, "cannot open", (OSError,))
        assert counters.reconnects == 1
        return [first, second]

    with caplog.at_level(logging.WARNING, logger=_log.name):
        assert run(scenario()) == ["first", "second"]
    messages = [r.getMessage() for r in caplog.records]
    # Outage 1 (two failed opens), back, outage 2 (lost, then one failed open), back.
    assert len(messages) == 4, messages


def test_close_stops_a_pending_open() -> None:
    attempts = 0

    async def never() -> str:
        nonlocal attempts
        attempts += 1
        raise OSError("not there")

    async def scenario() -> str | None:
        reconnector = Reconnector(_log, "dev", DriverCounters(), Backoff(30, 30))
        opening = asyncio.create_task(reconnector.open(never, "cannot open", (OSError,)))
        await eventually(lambda: attempts == 1)  # now in a 30 s back-off
        reconnector.close()
        return await asyncio.wait_for(opening, 2)

    assert run(scenario(), timeout=5) is None
    assert attempts == 1
