"""A real gate daemon for TUI tests: a subprocess on a temp data dir, two gates, each
with a serial scanner on a pseudo-terminal the test writes codes into."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.daemon.gate_kit import (
    SCANCTL,
    Gate,
    gate_toml,
    provision,
    pty_pair,
    wait_for,
    wait_ready,
)

SCANNERS = {"north-1": "north", "south-1": "south"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class LiveGate:
    """The daemon, its config and the scanners' pty masters, by scanner name."""

    gate: Gate
    config: Path
    socket: Path
    masters: dict[str, int]
    process: subprocess.Popen[bytes] | None = None
    written: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SCANCTL), "daemon", "run", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(self.socket)

    def stop(self) -> None:
        """SIGTERM, then wait for the drain to finish (exit 0)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=15) == 0
        self.process = None

    def api(self, path: str, method: str = "GET") -> Any:
        transport = httpx.HTTPTransport(uds=str(self.socket))
        with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as client:
            response = client.request(method, path)
            response.raise_for_status()
            return response.json()

    def scan(self, scanner: str, payload: str) -> None:
        os.write(self.masters[scanner], b"]Q1" + payload.encode() + b"\r")
        self.written += 1

    def admit(self, scanner: str, ticket_index: int) -> str:
        ticket = self.gate.tickets[ticket_index]
        self.scan(scanner, self.gate.token(ticket, now_ms()))
        return ticket

    def forged(self, scanner: str) -> None:
        self.scan(scanner, "0a1b2c3d:1764320000000:0011223344556677:" + "ab" * 32)

    def journaled(self) -> int:
        return int(self.api("/status")["journal"]["scans"])

    def settle(self, total: int | None = None) -> None:
        """Wait until every code written so far is journaled."""
        expected = self.written if total is None else total
        wait_for(lambda: self.journaled() == expected, f"{expected} journaled scans")


def simulated(name: str, gate: str, rate_per_s: float = 200.0) -> str:
    """A ``[[scanner]]`` table for the daemon's own simulated scanner."""
    return (
        f'[[scanner]]\nname = "{name}"\ndriver = "simulated"\ngate = "{gate}"\n'
        f"rate_per_s = {rate_per_s}\nseed = 8\n"
    )


@contextmanager
def live_gate(tmp_path: Path, extra_scanners: str = "") -> Iterator[LiveGate]:
    gate = provision(tmp_path, now_ms(), tickets=200)
    with ExitStack() as stack:
        masters = {
            name: stack.enter_context(pty_pair(tmp_path / f"scanner-{name}")) for name in SCANNERS
        }
        scanners = "\n".join(
            f'[[scanner]]\nname = "{name}"\ndriver = "serial"\n'
            f'path = "{tmp_path / f"scanner-{name}"}"\ngate = "{gate_name}"\n'
            for name, gate_name in SCANNERS.items()
        )
        config = gate_toml(tmp_path, scanners + "\n" + extra_scanners)
        live = LiveGate(gate, config, tmp_path / "daemon.sock", masters)
        live.start()
        try:
            yield live
        finally:
            if live.process is not None and live.process.poll() is None:
                live.process.kill()
                live.process.wait()
