"""Response compression (gzip), with the bytes of each compressed response counted.

`MeteredGZip` is starlette's `GZipMiddleware` (same minimum size, same negotiation) with
a count on both sides of it: the body bytes the application produced and the bytes sent,
for every response that went out gzip-encoded, by route (`HttpMetrics.compressed`). The
scan fast path compresses by itself and counts the same way.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scanctl.backend.metrics import HttpMetrics, route_of

__all__ = ["MINIMUM_SIZE", "MeteredGZip"]

MINIMUM_SIZE = 1024
"""Smaller bodies are sent as they are: gzip's header would eat most of the gain."""

_RAW = "scanctl.uncompressed_bytes"  # the scope key the inner count is kept under


class MeteredGZip:
    """gzip for clients that accept it, counting compressed responses' bytes."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, minimum_size: int = MINIMUM_SIZE
    ) -> None:
        self.metrics = metrics
        self.gzip = GZipMiddleware(_count_raw(app), minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.gzip(scope, receive, send)
            return
        scope[_RAW] = 0
        sent = 0
        encoded = False

        async def counting_send(message: Message) -> None:
            nonlocal sent, encoded
            if message["type"] == "http.response.start":
                encoded = any(
                    name.lower() == b"content-encoding" and value.strip().lower() == b"gzip"
                    for name, value in message.get("headers", ())
                )
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                if encoded and not message.get("more_body", False):
                    self.metrics.compressed(route_of(scope), scope[_RAW], sent)
            await send(message)

        await self.gzip(scope, receive, counting_send)


def _count_raw(app: ASGIApp) -> ASGIApp:
    """The application, adding its body bytes to the scope's count as they go out."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                scope[_RAW] += len(message.get("body", b""))
            await send(message)

        await app(scope, receive, counting_send)

    return counted
