"""The daemon's local API over its Unix socket (httpx), as the TUI needs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from scanctl.tui.errors import DaemonRefused, DaemonUnavailable
from scanctl.tui.sse import SseParser

__all__ = ["DaemonClient"]

# The daemon sends a heartbeat every 10 s; silence for longer means the link is dead.
EVENTS_READ_TIMEOUT_S = 30.0


class DaemonClient:
    """Async calls to one daemon. ``transport`` is injectable (tests, other sockets)."""

    def __init__(
        self,
        socket_path: Path,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.socket_path = socket_path
        self._client = httpx.AsyncClient(
            transport=transport or httpx.AsyncHTTPTransport(uds=str(socket_path)),
            base_url="http://daemon",
            timeout=timeout_s,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        try:
            response = await self._client.request(method, path, params=params or None, json=body)
        except httpx.TransportError as error:
            raise DaemonUnavailable(self._unreachable(error)) from error
        if response.is_error:
            try:
                message = str(response.json().get("error", response.text))
            except ValueError:
                message = response.text
            raise DaemonRefused(message or response.reason_phrase, response.status_code)
        try:
            return response.json()
        except ValueError as error:
            raise DaemonUnavailable(
                f"the daemon sent something that is not JSON: {error}"
            ) from None

    def _unreachable(self, error: Exception) -> str:
        if not self.socket_path.exists():
            return f"no daemon socket at {self.socket_path}"
        return f"daemon not answering on {self.socket_path} ({type(error).__name__})"

    # -- reads -----------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/status"))

    async def gates(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/gates"))["gates"])

    async def alerts(self) -> list[dict[str, Any]]:
        """The daemon's alerts; an older daemon without ``/alerts`` has none."""
        try:
            return list((await self._call("GET", "/alerts"))["alerts"])
        except DaemonRefused as refused:
            if refused.status == 404:
                return []
            raise

    async def conflicts(self) -> list[dict[str, Any]]:
        """Double entries reported to this gate; an older daemon without them has none."""
        try:
            return list((await self._call("GET", "/conflicts"))["conflicts"])
        except DaemonRefused as refused:
            if refused.status == 404:
                return []
            raise

    async def scans(
        self,
        *,
        limit: int = 200,
        gate: str | None = None,
        reason: str | None = None,
        ticket: str | None = None,
    ) -> list[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": limit}
        for name, value in (("gate", gate), ("reason", reason), ("ticket", ticket)):
            if value:
                params[name] = value
        return list((await self._call("GET", "/scans", params=params))["scans"])

    # -- actions ---------------------------------------------------------------------

    async def set_paused(self, gate: str, paused: bool) -> None:
        await self._call("POST", f"/gates/{gate}/{'pause' if paused else 'resume'}")

    async def acknowledge(self, alert_id: str, by: str) -> None:
        await self._call("POST", f"/alerts/{alert_id}/ack", body={"by": by})

    async def acknowledge_conflict(self, conflict_id: str, by: str) -> None:
        await self._call("POST", f"/conflicts/{conflict_id}/ack", body={"by": by})

    async def override(self, body: dict[str, Any]) -> dict[str, Any]:
        """A supervisor's override of what gates do on an expired manifest (``POST
        /override``: ``action`` and ``until_ms``, or ``extend_minutes``; ``by``, ``note``)."""
        return dict(await self._call("POST", "/override", body=body))

    # -- the event stream ------------------------------------------------------------

    @asynccontextmanager
    async def events(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Open ``/events``; iterate what it yields until the daemon closes the stream."""
        timeout = httpx.Timeout(self._client.timeout.connect, read=EVENTS_READ_TIMEOUT_S)
        try:
            async with self._client.stream("GET", "/events", timeout=timeout) as response:
                if response.is_error:
                    raise DaemonRefused("the daemon refused its event stream", response.status_code)
                yield self._parse(response)
        except httpx.TransportError as error:
            raise DaemonUnavailable(self._unreachable(error)) from error

    @staticmethod
    async def _parse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
        parser = SseParser()
        async for line in response.aiter_lines():
            event = parser.feed(line)
            if event is not None:
                yield event
