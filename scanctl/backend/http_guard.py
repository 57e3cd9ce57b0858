"""Connection limits uvicorn does not enforce itself: bounded connections, header size
and the time to send a request's headers.

uvicorn (httptools) accepts every connection, keeps one that never sends a byte or sends
its headers a byte at a time (slowloris) open for ever, and buffers headers of any size.
A few thousand idle sockets then use up the file descriptors and `/health` stops
answering. `guarded_protocol(limits)` is uvicorn's own protocol with three bounds:

- at most ``max_connections`` open; one more closes the connection that has been
  waiting longest without a request in flight (it costs its client a reconnect), or,
  when every connection is busy, the newcomer: an idle flood never locks out `/health`;
- a request's headers (and a fresh connection's first request) must arrive within
  ``header_timeout_s``; else the connection is closed (408 when something had come);
- headers larger than ``max_header_bytes`` are answered 431 and the connection closed.

Idle keep-alive connections are closed after ``KEEP_ALIVE_SECONDS`` by uvicorn itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "guarded_protocol"]

SWEEP_S = 0.5
"""How often the header deadline is checked: a slow client is cut within this of it."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int
    max_header_bytes: int
    header_timeout_s: float


def _plain_answer(status: bytes, reason: str) -> bytes:
    body = reason.encode("ascii")
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\nconnection: close\r\n\r\n"
    ) + body


class _GuardedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with the bounds of `ConnectionLimits` (see the module).

    No timer per request: a connection notes when it began waiting for a request's
    headers, and one sweep per server, every ``SWEEP_S``, closes those past the header
    deadline. The hot path only sets two attributes per request.
    """

    limits: ConnectionLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._awaiting_headers = True
        self._waiting_since = 0.0

    # -- connections -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        _Sweeper.ensure(self)
        if len(self.connections) > self.limits.max_connections:
            victim = self._longest_waiting()
            victim.transport.close()

    def _longest_waiting(self) -> _GuardedProtocol:
        """The connection without a request in flight that has waited longest (else us)."""
        oldest: _GuardedProtocol = self
        for other in self.connections:
            if (
                isinstance(other, _GuardedProtocol)
                and other is not self
                and other._idle()
                and other._waiting_since < oldest._waiting_since
                and not other.transport.is_closing()
            ):
                oldest = other
        return oldest

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    # -- headers -----------------------------------------------------------------------

    def _past_header_deadline(self, now: float) -> bool:
        return (
            self._awaiting_headers
            and self._idle()  # a pipelined request in flight is not waiting for headers
            and now - self._waiting_since > self.limits.header_timeout_s
        )

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing():
            return
        if self._header_bytes:
            self.transport.write(_plain_answer(b"408 Request Timeout", "request headers too slow"))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if (
            self._awaiting_headers
            and self._header_bytes > self.limits.max_header_bytes
            and not self.transport.is_closing()
        ):
            self.transport.write(
                _plain_answer(b"431 Request Header Fields Too Large", "request headers too large")
            )
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's headers are due within the bound, counted from now (uvicorn's
        # own keep-alive timer closes the connection sooner when nothing comes at all).
        self._awaiting_headers = True
        self._header_bytes = 0
        self._waiting_since = self.loop.time()


class _Sweeper:
    """Once per ``SWEEP_S`` per server: close connections past their header deadline."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        self.loop = loop
        self.connections = connections
        loop.call_later(SWEEP_S, self.sweep)

    @classmethod
    def ensure(cls, protocol: _GuardedProtocol) -> None:
        state = protocol.server_state
        if getattr(state, "_scanctl_sweeper", None) is None:
            state._scanctl_sweeper = cls(protocol.loop, protocol.connections)  # type: ignore[attr-defined]

    def sweep(self) -> None:
        now = self.loop.time()
        for connection in list(self.connections):
            if isinstance(connection, _GuardedProtocol) and connection._past_header_deadline(now):
                connection._headers_too_slow()
        if not self.loop.is_closed():
            self.loop.call_later(SWEEP_S, self.sweep)


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol bound to ``limits`` (pass it as `Config(http=…)`)."""
    return type("GuardedHttpToolsProtocol", (_GuardedProtocol,), {"limits": limits})
