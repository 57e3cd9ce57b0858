"""Helpers for the driver tests: run a coroutine with a deadline, wait on a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 5.0


def run(coro: Awaitable[T], timeout: float = 15.0) -> T:
    """Run a test coroutine on a fresh loop; fail rather than hang past the timeout."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def eventually(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Wait until ``condition()`` holds, polling the loop; fail after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.002)


async def next_scan(iterator: object, deadline: float = DEADLINE) -> object:
    """The next item of an async iterator, or a failure after ``deadline`` seconds."""
    return await asyncio.wait_for(iterator.__anext__(), deadline)  # type: ignore[attr-defined]


class Collector:
    """Drains an async iterator in a task, keeping what it yields."""

    def __init__(self, driver: object) -> None:
        self.driver = driver
        self.items: list[object] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.driver:  # type: ignore[attr-defined]
            self.items.append(item)

    async def wait_for_count(self, count: int, deadline: float = DEADLINE) -> list[object]:
        await eventually(lambda: len(self.items) >= count or self.task.done(), deadline)
        if self.task.done():
            self.task.result()  # surfaces an exception from the driver
        return self.items

    async def stop(self) -> None:
        await self.driver.aclose()  # type: ignore[attr-defined]
        await asyncio.wait_for(self.task, DEADLINE)
