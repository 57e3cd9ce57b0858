"""Finding the event's other gates on the LAN by DNS-SD over multicast DNS.

Each gate announces ``<device id>._scanctl-mesh._udp.local.`` with its mesh port and a
TXT record naming the event and device, and browses for the others. What discovery
finds is only an address to talk to: trust comes from the datagrams themselves (sealed
with the event's mesh key, signed by a gate the manifest lists), so a forged
announcement costs a few refused datagrams, nothing more. Where the LAN drops
multicast, the static ``peers`` of gate.toml still work.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

__all__ = ["SERVICE_TYPE", "Discovery"]

log = logging.getLogger(__name__)

SERVICE_TYPE = "_scanctl-mesh._udp.local."
_RESOLVE_MS = 3000


def announced_addresses(listen_host: str) -> list[str]:
    """The IPv4 addresses to announce: the one listened on, or every non-loopback one."""
    if listen_host not in ("0.0.0.0", ""):  # noqa: S104 (a comparison, not a bind)
        return [listen_host]
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
    return found


class Discovery:
    """Announces this gate and reports the event's other gates to ``on_found``."""

    def __init__(
        self,
        *,
        event_id: str,
        device_id: str,
        listen: tuple[str, int],
        on_found: Callable[[tuple[str, int], str], None],
        accept: Callable[[str], bool],
    ) -> None:
        self.event_id = event_id
        self.device_id = device_id
        self.listen = listen
        self._on_found = on_found
        self._accept = accept
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.found = 0

    async def start(self) -> None:
        addresses = announced_addresses(self.listen[0])
        everywhere = self.listen[0] in ("0.0.0.0", "")  # noqa: S104 (a comparison)
        self._zeroconf = AsyncZeroconf(
            interfaces=InterfaceChoice.All if everywhere else addresses,
            ip_version=IPVersion.V4Only,
        )
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self.device_id}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(address) for address in addresses],
            port=self.listen[1],
            properties={"event": self.event_id, "device": self.device_id},
        )
        await self._zeroconf.async_register_service(info)
        self._browser = AsyncServiceBrowser(
            self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._changed]
        )
        log.info("gate mesh: announced on %s by mDNS", ", ".join(addresses) or "no address")

    def _changed(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            return
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, service_type, name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if not await info.async_request(zeroconf, _RESOLVE_MS):
            return
        properties = {
            (k or b"").decode(errors="replace"): (v or b"").decode(errors="replace")
            for k, v in info.properties.items()
        }
        device = properties.get("device", "")
        if properties.get("event") != self.event_id or device == self.device_id:
            return
        if not self._accept(device) or info.port is None:
            return
        for address in info.parsed_addresses(IPVersion.V4Only):
            self.found += 1
            self._on_found((address, int(info.port)), device)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.async_cancel()
        if self._zeroconf is not None:
            with contextlib.suppress(Exception):
                await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()
