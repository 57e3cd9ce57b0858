"""The coalescer: the first event goes at once, a flood goes in a few batches."""

from __future__ import annotations

import asyncio

from textual.message import Message

from scanctl.tui.coalesce import Coalescer
from scanctl.tui.messages import DaemonEvents


def test_a_flood_becomes_a_few_batches_and_loses_nothing() -> None:
    posted: list[Message] = []

    async def main() -> None:
        coalescer = Coalescer(posted.append, interval_s=0.05)
        ticker = asyncio.create_task(coalescer.run())
        coalescer.add({"n": 0})
        await asyncio.sleep(0)  # let the ticker see it: a quiet door posts at once
        assert len(posted) == 1
        for n in range(1, 5001):
            coalescer.add({"n": n})
            if n % 100 == 0:
                await asyncio.sleep(0.001)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)

    asyncio.run(main())
    batches = [message for message in posted if isinstance(message, DaemonEvents)]
    assert [event["n"] for batch in batches for event in batch.events] == list(range(5001))
    assert len(batches) < 100, "a batch per interval, not per event"
    assert batches[-1].received == 5001


def test_flush_without_events_posts_nothing() -> None:
    posted: list[Message] = []
    Coalescer(posted.append).flush()
    assert posted == []
