"""Open-loop load on `POST /api/scan` of a real server (SQLite, every admission durable).

Starts `scanctl server run` (fresh secrets, a temp data directory), seeds a live event
with 100,000 tickets and a few devices, then:

1. offers 1,000 scans/s for 10 s, open loop: request *i* is due at ``t0 + i / rate``
   and its latency is measured from that due time, so a stalled server is charged for
   every request it kept waiting (no coordinated omission). Exact percentiles of all
   latencies. Each scan carries a fresh rotating token minted for its due time with the
   documented key derivation; tickets are drawn at random, so a few are duplicates.
2. saturation: as many scans as the server answers with 64 connections busy, 5 s;
3. in the same run the same for `GET /health` — the ceiling of the HTTP stack alone,
   and proof the generator is not what limits (it must go well past the scan figure).

The generator speaks HTTP/1.1 keep-alive over asyncio streams with pre-built requests
(a few microseconds each); httpx would cost more CPU per request than the server does.
Prints ``name=value`` lines.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from scanctl.backend.auth.principal import Role
from scanctl.backend.auth.tokens import issue_person_token
from scanctl.core import derive_event_key, mint_token, new_nonce
from scanctl.manifests import ManifestSigner

RATE = 1_000
SECONDS = 10.0
SATURATION_SECONDS = 5.0
CONNECTIONS = 64
MAX_CONNECTIONS = 256
TICKETS = 100_000
DEVICES = 8
SCANCTL = str(Path(sys.executable).parent / "scanctl")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Connection:
    """One keep-alive connection; `send` writes a pre-built request and reads the answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _post(port: int, token: str, body: bytes) -> bytes:
    return (
        f"POST /api/scan HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class Door:
    """The seeded event, its devices, and a way to mint scan requests for a moment."""

    def __init__(self, port: int, hmac_secret: str, jwt_secret: str) -> None:
        self.port = port
        self.tenant = f"bench-{secrets.token_hex(3)}"
        self.venue = str(uuid.uuid4())
        self.event = str(uuid.uuid4())
        self.devices = [str(uuid.uuid4()) for _ in range(DEVICES)]
        self.tickets = [f"{i:08x}" for i in range(TICKETS)]
        self.key = derive_event_key(hmac_secret, self.tenant, self.event)
        now_s = int(time.time())
        self.admin = issue_person_token(
            jwt_secret, subject="bench-admin", tenant_id=self.tenant, role=Role.ADMIN,
            venue_id=None, ttl_seconds=3600, now_s=now_s,
        )  # fmt: skip
        self.staff = issue_person_token(
            jwt_secret, subject="bench-staff", tenant_id=self.tenant, role=Role.VENUE_STAFF,
            venue_id=self.venue, ttl_seconds=3600, now_s=now_s,
        )  # fmt: skip
        self.random = random.Random(7)

    def seed(self, url: str) -> float:
        """Event, 100,000 tickets (bulk upsert), devices, policy; returns seconds taken."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        headers = {"Authorization": f"Bearer {self.admin}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            http.post(
                "/api/catalog/events",
                json={
                    "id": self.event,
                    "venueId": self.venue,
                    "name": "Bench night",
                    "startsAt": (now - timedelta(hours=1)).isoformat(),
                    "endsAt": (now + timedelta(hours=6)).isoformat(),
                },
            ).raise_for_status()
            for start in range(0, TICKETS, 10_000):
                chunk = self.tickets[start : start + 10_000]
                http.post(
                    f"/api/catalog/events/{self.event}/tickets",
                    json={"tickets": [{"id": t, "zones": ["GA"]} for t in chunk]},
                ).raise_for_status()
            for device in self.devices:
                http.post(
                    "/api/devices/register",
                    json={"deviceId": device, "name": "Lane", "type": "SCANNER_GUN",
                          "venueId": self.venue},
                ).raise_for_status()  # fmt: skip
            # Re-entry on, no duplicate window: a repeated ticket is admitted again, so
            # every scan runs the whole rule chain. The per-device limit is set out of
            # the way: what is measured is the scan path, not the limiter's refusals.
            http.put(
                f"/api/policies/{self.event}",
                json={"scanner_rate_limit_per_minute": 100_000},
            ).raise_for_status()
        return time.perf_counter() - started

    def request(self, due_ms: int) -> bytes:
        ticket = self.random.choice(self.tickets)
        token = mint_token(self.key, ticket, due_ms, new_nonce())
        body = json.dumps(
            {
                "qrData": token,
                "eventId": self.event,
                "deviceId": self.random.choice(self.devices),
                "gate": "main",
            }
        ).encode()
        return _post(self.port, self.staff, body)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def open_loop(door: Door, rate: float, seconds: float) -> dict[str, float]:
    """Requests due at fixed times, latency from the due time; more connections when busy."""
    count = int(rate * seconds)
    wall0 = time.time() + 0.5
    requests = [door.request(int((wall0 + i / rate) * 1000)) for i in range(count)]
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    everyone = [Connection(door.port) for _ in range(CONNECTIONS)]
    for conn in everyone:
        idle.put_nowait(conn)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    # Building the requests may have taken longer than the 0.5 s head start (a busy
    # machine): start then, rather than charge the server for the generator's lateness.
    # Codes minted for an earlier instant are still well within their lifetime.
    t0 = loop.time() + max(0.1, wall0 - time.time())
    last_done = t0
    pending: set[asyncio.Task[None]] = set()

    async def one(conn: Connection, request: bytes, due: float) -> None:
        nonlocal errors, last_done
        try:
            status = await conn.send(request)
            if status != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn.close()
        now = loop.time()
        latencies.append(now - due)
        last_done = max(last_done, now)
        idle.put_nowait(conn)

    for i, request in enumerate(requests):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle.empty():
            conn = idle.get_nowait()
        elif len(everyone) < MAX_CONNECTIONS:  # all busy: open another, don't delay this one
            conn = Connection(door.port)
            everyone.append(conn)
        else:  # past that, wait; the wait still counts, latency runs from the due time
            conn = await idle.get()
        task = asyncio.create_task(one(conn, request, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    for conn in everyone:
        conn.close()
    latencies.sort()
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(count / (last_done - t0), 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "errors": errors,
        "connections_used": len(everyone),
    }


async def saturate(port: int, make: Callable[[], bytes], seconds: float) -> tuple[float, int]:
    """Closed loop: every connection sends its next request as soon as one is answered."""
    done = 0
    errors = 0
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def worker() -> None:
        nonlocal done, errors
        conn = Connection(port)
        try:
            while loop.time() < stop_at:
                status = await conn.send(make())
                if status == 200:
                    done += 1
                else:
                    errors += 1
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return done / (loop.time() - started), errors


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="scanctl-bench-"))
    port = _free_port()
    hmac_secret, jwt_secret = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    # PYTHONPATH passes through: point it at httptools + uvloop to measure uvicorn with them.
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HMAC_SECRET=hmac_secret,
        JWT_SECRET=jwt_secret,
        MANIFEST_SIGNING_KEY=ManifestSigner.generate().private_key_b64(),
        SCANCTL_DATA_DIR=str(data_dir),
        DEVICE_REGISTRATION_LIMIT="1000/hour",
        LOG_LEVEL="warning",
    )
    log = (data_dir / "server.log").open("wb")
    server = subprocess.Popen(
        [SCANCTL, "server", "run", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not start:\n{(data_dir / 'server.log').read_text()}"
                )
            time.sleep(0.1)
        fast = all(importlib.util.find_spec(m) is not None for m in ("httptools", "uvloop"))
        print(f"server_http={'httptools+uvloop' if fast else 'h11+asyncio'}")
        door = Door(port, hmac_secret, jwt_secret)
        print(f"seed_s={door.seed(url):.1f}")
        print(f"tickets={TICKETS}")
        # Warm-up: first-use costs (imports, caches, connections) are not the steady state.
        asyncio.run(open_loop(door, 500, 5.0))
        for name, value in asyncio.run(open_loop(door, RATE, SECONDS)).items():
            print(f"{name}={value}")
        scan_rate, scan_errors = asyncio.run(
            saturate(port, lambda: door.request(int(time.time() * 1000)), SATURATION_SECONDS)
        )
        health = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        health_rate, _ = asyncio.run(saturate(port, lambda: health, SATURATION_SECONDS))
        print(f"scan_saturation_per_s={scan_rate:.0f}")
        print(f"scan_saturation_errors={scan_errors}")
        print(f"health_saturation_per_s={health_rate:.0f}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
