"""What the daemon may rely on from every driver: the ScannerDriver protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from scanctl.core import RawScan
from scanctl.drivers.counters import DriverCounters

__all__ = ["ScannerDriver"]


@runtime_checkable
class ScannerDriver(Protocol):
    """A source of scans: ``async for scan in driver:`` until ``aclose()``.

    Iteration never raises for bad input or a lost device (both are counted and
    retried); it ends when the driver is closed or its source ends for good (stdin at
    EOF, a simulation's scan limit). ``feedback(good)`` tells the scanner the outcome of
    the last read where its protocol allows and returns whether bytes were sent;
    ``warning=True`` (with ``good``) is an admission with a warning, told apart where the
    protocol can (`drivers.feedback`), else answered as a good read.
    """

    name: str
    counters: DriverCounters

    def __aiter__(self) -> AsyncIterator[RawScan]: ...

    async def feedback(self, good: bool, *, warning: bool = False) -> bool: ...

    async def aclose(self) -> None: ...
