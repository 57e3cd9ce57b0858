"""What the sync and the async client share: settings, the breaker, the httpx options."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from scanctl import __version__
from scanctl.client.breaker import CircuitBreaker
from scanctl.client.retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "USER_AGENT", "ClientBase"]

DEFAULT_TIMEOUT = 10.0
"""Seconds any one network wait (connect, read, write, pool) may take by default."""

USER_AGENT = f"scanctl/{__version__}"


class ClientBase:
    """Settings of a backend client.

    ``auth`` is a `BearerToken`, a `DeviceAuth` or any ``httpx.Auth``; ``timeout``
    bounds each network wait (seconds or an ``httpx.Timeout``); ``retry`` bounds
    retries of idempotent calls; ``breaker`` (optional, may be shared) makes calls
    fail fast with `CircuitOpen` while the backend is failing; ``clock`` is
    monotonic seconds, for deadlines and retry budgets; ``headers`` are sent with
    every request.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | None,
        breaker: CircuitBreaker | None,
        clock: Callable[[], float] = time.monotonic,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self.retry = retry if retry is not None else RetryPolicy()
        self._clock = clock
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._http_options: dict[str, Any] = {
            "base_url": self.base_url,
            "auth": auth,
            "timeout": self._timeout,
            "headers": {"User-Agent": USER_AGENT, **(headers or {})},
            "follow_redirects": False,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"
