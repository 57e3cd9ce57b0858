"""supervise(): a background task that fails is alerted and run again; cancelling stops it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from scanctl.daemon.alerts import AlertBook, AlertKind
from scanctl.daemon.events import EventBus
from scanctl.daemon.supervisor import supervise


def _book() -> AlertBook:
    return AlertBook(EventBus(), lambda: time.time_ns() // 1_000_000)


def _active(book: AlertBook) -> list[dict[str, object]]:
    return [a for a in book.listing() if a["active"] and a["kind"] == AlertKind.TASK_FAILED]


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` with a deadline of 5 s."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polls state another task sets
            await asyncio.sleep(0.01)


def test_a_failing_task_is_alerted_retried_and_cleared_once_healthy() -> None:
    book = _book()
    runs: list[int] = []
    finished = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) <= 2:
            raise RuntimeError(f"boom {len(runs)}")
        await asyncio.sleep(0.3)  # runs well past healthy_after_s, then ends
        finished.set()

    async def main() -> None:
        task = asyncio.create_task(
            supervise("sync", flaky, book, first_backoff_s=0.01, healthy_after_s=0.1)
        )
        await _until(lambda: len(runs) == 3)
        alert = _active(book)[0]
        assert "boom 2" in str(alert["message"]) and "2 failure(s)" in str(alert["message"])
        assert alert["severity"] == "critical"
        await _until(lambda: not _active(book))
        await asyncio.wait_for(task, 5)
        assert finished.is_set()

    asyncio.run(main())


def test_cancelling_the_supervisor_cancels_the_task() -> None:
    book = _book()
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        task = asyncio.create_task(supervise("housekeeping", forever, book))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancelled.is_set() and not _active(book)

    asyncio.run(main())
