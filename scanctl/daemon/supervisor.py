"""Background tasks that never end quietly: a failure raises an alert and is retried.

The daemon's sync, housekeeping and override upload run for its whole life. An
exception nobody expected used to end such a task silently (the journal filled and
nothing reached the backend). `supervise` runs the task again after a back-off, with a
critical alert while it keeps failing, cleared once it has run long enough to count as
healthy. Cancelling the supervisor (the drain) cancels the task; the daemon's drain
then closes the journal as always.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from scanctl.daemon.alerts import AlertBook, AlertKind, Severity

__all__ = ["supervise"]

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 30.0


async def supervise(
    name: str,
    work: Callable[[], Awaitable[None]],
    alerts: AlertBook,
    *,
    first_backoff_s: float = FIRST_BACKOFF_S,
    max_backoff_s: float = MAX_BACKOFF_S,
    healthy_after_s: float = HEALTHY_AFTER_S,
) -> None:
    """Run ``work()`` until it returns; after a failure alert, wait, and run it again."""
    loop = asyncio.get_running_loop()
    delay = first_backoff_s
    failures = 0
    while True:
        started = loop.time()
        healthy = (
            loop.call_later(healthy_after_s, alerts.clear, AlertKind.TASK_FAILED, name)
            if failures
            else None
        )
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures += 1
            if loop.time() - started >= healthy_after_s:
                delay = first_backoff_s  # it had been running well: start the back-off over
            log.error("background task %s failed, restarting in %.0f s", name, delay, exc_info=True)
            alerts.raise_alert(
                AlertKind.TASK_FAILED,
                name,
                f"background task {name} failed ({type(error).__name__}: {error}); "
                f"restarted ({failures} failure(s))",
                severity=Severity.CRITICAL,
            )
        finally:
            if healthy is not None:
                healthy.cancel()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_s)
