"""A log line for every request slower than a threshold: method, route, status, duration."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SlowRequestLogMiddleware"]

log = logging.getLogger("scanctl.backend.slow")


class SlowRequestLogMiddleware:
    """Outermost: the duration covers every inner middleware and the whole response."""

    def __init__(self, app: ASGIApp, seconds: float = 1.0) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            if elapsed > self.seconds:
                route: Any = scope.get("route")
                path = getattr(route, "path", None) or "<unmatched>"
                log.warning(
                    "slow request: %s %s status=%d duration_ms=%.0f",
                    scope["method"],
                    path,
                    status,
                    elapsed * 1000,
                )
