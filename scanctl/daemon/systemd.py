"""systemd's notify protocol: READY, STOPPING, STATUS and the watchdog, without libsystemd.

Messages go as datagrams to the socket named by $NOTIFY_SOCKET (a path, or an abstract
socket when it starts with '@'). Outside systemd the variable is unset and every call
is a no-op, so the daemon runs the same under a terminal, a test or a service manager.
"""

from __future__ import annotations

import os
import socket

__all__ = ["Notifier"]


class Notifier:
    """Sends sd_notify messages; ``watchdog_interval_s`` says how often to ping (or None)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_interval_s: float | None = (
            int(watchdog_usec) / 1_000_000 / 2 if watchdog_usec.isdigit() else None
        )

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, *fields: str) -> bool:
        """Send ``KEY=value`` fields as one message; False when not under systemd or lost."""
        if not self._address:
            return False
        message = "\n".join(fields).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message, self._address)
            except OSError:
                return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=draining")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")
