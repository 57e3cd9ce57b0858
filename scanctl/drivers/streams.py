"""Reading scans from an asyncio byte stream with the partial-frame timeout kept (TCP, stdin)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from scanctl.core import RawScan
from scanctl.drivers.pipeline import ScanPipeline

__all__ = ["read_scans"]

_READ_SIZE = 4096


async def read_scans(
    reader: asyncio.StreamReader, pipeline: ScanPipeline, clock: Callable[[], float]
) -> list[RawScan] | None:
    """The scans completed by the next chunk read; None at end of stream.

    While a frame is half-read, the wait is bounded by its inter-byte deadline so a
    stalled frame is discarded (and counted) on time, not when the next byte comes.
    Cancelling ``StreamReader.read`` loses nothing: unread bytes stay buffered.
    """
    deadline = pipeline.assembler.deadline
    timeout = None if deadline is None else max(0.0, deadline - clock())
    try:
        data = await asyncio.wait_for(reader.read(_READ_SIZE), timeout)
    except TimeoutError:
        return pipeline.expire(clock())
    if not data:
        pipeline.assembler.reset()
        return None
    return pipeline.feed(data, clock())
