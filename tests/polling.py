"""Waiting on a condition with a deadline: the one way the tests wait (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["wait_for"]


def wait_for(
    condition: Callable[[], Any], what: str = "", timeout: float = 20.0, *, interval: float = 0.02
) -> Any:
    """Poll ``condition()`` until it returns something truthy, and return that.

    A call that fails to connect (a server or socket not up yet) counts as "not yet";
    after ``timeout`` seconds the test fails, naming ``what`` and the last such error.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (httpx.TransportError, OSError) as error:
            last_error, result = error, None
        if result:
            return result
        time.sleep(interval)
    detail = f" (last error: {last_error!r})" if last_error is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}{detail}")
