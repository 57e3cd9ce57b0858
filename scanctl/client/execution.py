"""What both clients do around one try of a `Call`: breaker, error mapping, body, outcome.

The sync and the async client differ only in how bytes move (``send`` vs ``await
send``); everything that decides something lives here, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from scanctl.client.breaker import CircuitBreaker
from scanctl.client.endpoints import Call
from scanctl.client.errors import CircuitOpen, ConnectFailed, InvalidResponse, TimedOut
from scanctl.client.responses import Reply, error_for

__all__ = [
    "MAX_BODY",
    "BodyReader",
    "DeadlineExceeded",
    "RemainingTime",
    "attempt",
    "conclude",
    "request_args",
]

T = TypeVar("T")

MAX_BODY = 64 * 1024 * 1024
"""Largest answer we read (a 100,000-ticket manifest is about 5 MB)."""


class DeadlineExceeded(Exception):
    """Internal: the call's deadline passed while its answer was still arriving."""


class RemainingTime(dict[str, float | None]):
    """httpx's ``timeout`` request extension, answering every phase with the time left.

    httpcore looks up the timeout of each phase (pool, connect, write, read) when that
    phase starts; answering with what remains of the deadline makes the phases share
    one budget instead of each getting all of it. Should a transport read the values
    once up front instead, each phase still gets at most the whole deadline.
    """

    _FLOOR = 0.001  # zero would mean "wait forever" to some backends

    def __init__(self, deadline_at: float, clock: Callable[[], float]) -> None:
        self._deadline_at = deadline_at
        self._clock = clock
        super().__init__(dict.fromkeys(("connect", "read", "write", "pool"), self._left()))

    def _left(self) -> float:
        return max(self._FLOOR, self._deadline_at - self._clock())

    def get(self, key: str, default: Any = None) -> Any:
        return self._left() if key in self else default

    def __getitem__(self, key: str) -> float | None:
        super().__getitem__(key)  # KeyError for phases we do not know
        return self._left()


def request_args(call: Call[Any], default_timeout: httpx.Timeout) -> dict[str, Any]:
    """Keyword arguments for ``httpx.(Async)Client.build_request`` for one call."""
    if call.deadline is not None:
        timeout = httpx.Timeout(call.deadline)
    elif call.timeout is not None:
        timeout = httpx.Timeout(call.timeout)
    else:
        timeout = default_timeout
    args: dict[str, Any] = {"timeout": timeout}
    if call.params:
        args["params"] = dict(call.params)
    if call.json is not None:
        args["json"] = call.json
    return args


@contextmanager
def attempt(breaker: CircuitBreaker | None, base_url: str, call: Call[Any]) -> Iterator[None]:
    """One try: ask the breaker, map transport failures to `Unreachable`, report them.

    A try that ends in an answer is reported by `conclude`; one that ends in anything
    else we did not map (a bug, a cancellation) only frees the breaker's probe slot.
    """
    if breaker is not None and not breaker.acquire():
        retry_in = breaker.retry_in()
        raise CircuitOpen(
            f"the backend at {base_url} is failing; not asking again for {retry_in:.1f} s",
            retry_in=retry_in,
        )
    try:
        yield
    except (httpx.TimeoutException, TimeoutError, DeadlineExceeded) as exc:
        if breaker is not None:
            breaker.record_failure()
        within = call.deadline if call.deadline is not None else call.timeout
        limit = f" within {within:g} s" if within is not None else " in time"
        raise TimedOut(
            f"the backend at {base_url} did not answer {call.method} {call.path}{limit}"
        ) from exc
    except httpx.TransportError as exc:
        if breaker is not None:
            breaker.record_failure()
        raise ConnectFailed(f"cannot reach the backend at {base_url}: {exc}") from exc
    except httpx.DecodingError as exc:
        if breaker is not None:
            breaker.record_success()  # it answered, just badly
        raise InvalidResponse(f"could not decode the answer: {exc}") from exc
    except BaseException:
        if breaker is not None:
            breaker.release()
        raise


class BodyReader:
    """Collects an answer's chunks, enforcing the size bound and the call's deadline."""

    def __init__(self, deadline_at: float | None, clock: Callable[[], float] = time.monotonic):
        self._deadline_at = deadline_at
        self._clock = clock
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > MAX_BODY:
            raise InvalidResponse(f"the answer is larger than {MAX_BODY} bytes")
        self._chunks.append(chunk)
        self.check_deadline()

    def check_deadline(self) -> None:
        if self._deadline_at is not None and self._clock() > self._deadline_at:
            raise DeadlineExceeded

    def reply(self, status: int, headers: Mapping[str, str]) -> Reply:
        return Reply(status, b"".join(self._chunks), headers)


def conclude(call: Call[T], reply: Reply, breaker: CircuitBreaker | None) -> T:
    """Report the answer to the breaker (5xx is a failure), then parse it or raise its error."""
    if breaker is not None:
        if reply.status >= 500:
            breaker.record_failure()
        else:
            breaker.record_success()
    if 200 <= reply.status < 300 or reply.status in call.accept:
        return call.parse(reply)
    if reply.status >= 400:
        raise error_for(reply)
    raise InvalidResponse(f"unexpected HTTP status {reply.status}", status=reply.status)
