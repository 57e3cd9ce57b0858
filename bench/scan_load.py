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

PostgreSQL: ``--database postgresql://USER@HOST:PORT/DB --instances 2``. USER must be
allowed to create databases and roles (the local trust-auth ``postgres``). The bench
creates a database of its own, migrates it as its owner, creates a login role that owns
nothing (what the service must run as: the service refuses anything else), starts the
instances on it with the same secrets, and spreads every phase's requests over them
round-robin. Then, in the same run, the RLS comparison: the database is copied
(``CREATE DATABASE … TEMPLATE``), row-level security is switched off on the copy, and
the hot ticket queries run alternately on both as the service role, tenant bound per
transaction as the service does: ``rls_overhead_p95_ms`` is the difference of the p95s.
Both databases and the role are dropped at the end.
"""

from __future__ import annotations

import argparse
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
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from scanctl.backend.auth.principal import Role
from scanctl.backend.auth.tokens import issue_person_token
from scanctl.backend.db import create_database, upgrade
from scanctl.backend.db.guard import TENANT_TABLES
from scanctl.backend.scanning.service import _TICKET_BY_ID
from scanctl.backend.store import Scope
from scanctl.backend.store.scans import _HISTORIES_PG
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

    def __init__(self, ports: list[int], hmac_secret: str, jwt_secret: str) -> None:
        self.ports = ports
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

    def request(self, due_ms: int, port: int) -> bytes:
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
        return _post(port, self.staff, body)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def open_loop(door: Door, rate: float, seconds: float) -> dict[str, float]:
    """Requests due at fixed times, latency from the due time; more connections when busy.

    Request *i* goes to instance ``i % len(door.ports)``: the load is spread evenly.
    """
    count = int(rate * seconds)
    wall0 = time.time() + 0.5
    ports = door.ports
    requests = [
        door.request(int((wall0 + i / rate) * 1000), ports[i % len(ports)]) for i in range(count)
    ]
    idle: dict[int, asyncio.Queue[Connection]] = {port: asyncio.Queue() for port in ports}
    everyone = [Connection(port) for port in ports for _ in range(CONNECTIONS // len(ports))]
    for conn in everyone:
        idle[conn.port].put_nowait(conn)
    opened = dict.fromkeys(ports, CONNECTIONS // len(ports))
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
        idle[conn.port].put_nowait(conn)

    for i, request in enumerate(requests):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        port = ports[i % len(ports)]
        if not idle[port].empty():
            conn = idle[port].get_nowait()
        elif opened[port] < MAX_CONNECTIONS // len(ports):  # all busy: open another
            conn = Connection(port)
            everyone.append(conn)
            opened[port] += 1
        else:  # past that, wait; the wait still counts, latency runs from the due time
            conn = await idle[port].get()
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


async def saturate(
    ports: list[int], make: Callable[[int], bytes], seconds: float
) -> tuple[float, int]:
    """Closed loop: every connection sends its next request as soon as one is answered.

    The connections are spread evenly over the instances (``make(port)`` builds a request).
    """
    done = 0
    errors = 0
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + seconds

    async def worker(port: int) -> None:
        nonlocal done, errors
        conn = Connection(port)
        try:
            while loop.time() < stop_at:
                status = await conn.send(make(port))
                if status == 200:
                    done += 1
                else:
                    errors += 1
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(CONNECTIONS)))
    return done / (loop.time() - started), errors


@contextmanager
def postgres(admin_url: str) -> Iterator[tuple[str, str]]:
    """A fresh database migrated by its owner and a login role that owns nothing.

    Yields (owner URL, service URL); drops the database, its RLS-off copy and the role.
    """
    admin_parsed = _psycopg(admin_url)
    suffix = secrets.token_hex(4)
    name, role = f"scanctl_bench_{suffix}", f"scanctl_bench_{suffix}"
    admin = create_engine(admin_parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
    owner_url = admin_parsed.set(database=name)
    try:
        owner = create_database(owner_url.render_as_string(hide_password=False))
        try:
            upgrade(owner.engine)
            with owner.engine.begin() as conn:
                conn.execute(
                    text(
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                        f" TO {role}"
                    )
                )
                conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        finally:
            owner.close()
        yield (
            owner_url.render_as_string(hide_password=False),
            owner_url.set(username=role, password=None).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            for database in (name, f"{name}_norls"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _psycopg(url: str) -> URL:
    """``postgresql://`` means psycopg 3 here (the driver the project installs)."""
    parsed = make_url(url)
    return (
        parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed
    )


_HOT_TICKET = _TICKET_BY_ID
"""The scan path's ticket lookup (`ScanService.ticket`), the product's own statement."""
_HOT_HISTORY = _HISTORIES_PG
"""The writer's duplicate check: a ticket's admitted history, run for every batch."""


def rls_overhead(owner_url: str, service_url: str, door: Door, samples: int) -> dict[str, float]:
    """p95 of the hot queries with RLS on vs on an RLS-off copy, alternating, same role."""
    owner = make_url(owner_url)
    copy = f"{owner.database}_norls"
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{owner.database}"'))
    finally:
        admin.dispose()
    unsecured = create_engine(owner.set(database=copy))
    try:
        with unsecured.begin() as conn:
            for table in TENANT_TABLES:
                conn.execute(text(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"))
                conn.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
    finally:
        unsecured.dispose()
    with_rls = create_database(service_url)
    without = create_database(make_url(service_url).set(database=copy).render_as_string(False))
    scope = Scope.tenant_wide(door.tenant)
    timings: dict[tuple[str, str], list[float]] = {}
    try:
        for i in range(samples):
            ticket = door.random.choice(door.tickets)
            params = {"tenant": door.tenant, "event": door.event, "ticket": ticket}
            history_params = {"tenant": door.tenant, "event": door.event, "tickets": [ticket]}
            # Alternate which goes first: neither side always gets the warmer cache.
            pair = [("on", with_rls), ("off", without)]
            for side, database in pair if i % 2 else pair[::-1]:
                with database.read(scope) as conn:  # tenant bound, as the service does
                    for query_name, query, values in (
                        ("ticket", _HOT_TICKET, params),
                        ("history", _HOT_HISTORY, history_params),
                    ):
                        started = time.perf_counter()
                        conn.execute(query, values).all()
                        elapsed = time.perf_counter() - started
                        if i >= samples // 10:  # the first tenth warms plans and caches
                            timings.setdefault((query_name, side), []).append(elapsed)
    finally:
        with_rls.close()
        without.close()
    figures: dict[str, float] = {}
    for query_name in ("ticket", "history"):
        p95 = {}
        for side in ("on", "off"):
            measured = sorted(timings[(query_name, side)])
            p95[side] = _percentile(measured, 0.95) * 1000
            figures[f"rls_{side}_{query_name}_p95_ms"] = round(p95[side], 3)
        key = "rls_overhead_p95_ms" if query_name == "ticket" else "rls_overhead_history_p95_ms"
        figures[key] = round(p95["on"] - p95["off"], 3)
    return figures


def analyze(owner_url: str) -> None:
    """Refresh the planner's statistics (the owner may; the service role may not)."""
    engine = create_engine(_psycopg(owner_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def server_setting(owner_url: str, name: str) -> str:
    """A run-time setting of the PostgreSQL server (``SHOW``)."""
    engine = create_engine(_psycopg(owner_url))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text(f"SHOW {name}")).scalar())
    finally:
        engine.dispose()


def _analyze_every(owner_url: str, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        analyze(owner_url)


def _start(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [SCANCTL, "server", "run", "--port", str(port)], env=env, stdout=log, stderr=log
        )


def _wait_ready(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--database",
        default=None,
        help="postgresql://USER@HOST:PORT/DB of a user that may create databases and roles "
        "(default: SQLite in a temp directory)",
    )
    parser.add_argument("--instances", type=int, default=1, help="backend processes (PostgreSQL)")
    parser.add_argument("--rls-samples", type=int, default=4000, help="queries per side")
    parser.add_argument(
        "--analyze-every",
        type=float,
        default=5.0,
        help="seconds between ANALYZEs during the run, as autovacuum would (0: never)",
    )
    args = parser.parse_args()
    if args.instances < 1 or (args.database is None and args.instances != 1):
        parser.error("several instances need --database postgresql://…")
    if args.database is None:
        run(None, None, 1, 0, 0)
    else:
        with postgres(args.database) as (owner_url, service_url):
            run(owner_url, service_url, args.instances, args.rls_samples, args.analyze_every)


def run(
    owner_url: str | None,
    service_url: str | None,
    instances: int,
    rls_samples: int,
    analyze_every: float,
) -> None:
    """Start the instances, seed, measure, stop; then the RLS comparison on PostgreSQL."""
    data_dir = Path(tempfile.mkdtemp(prefix="scanctl-bench-"))
    ports = [_free_port() for _ in range(instances)]
    hmac_secret, jwt_secret = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    # PYTHONPATH passes through: point it at httptools + uvloop to measure uvicorn with them.
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HMAC_SECRET=hmac_secret,
        JWT_SECRET=jwt_secret,
        MANIFEST_SIGNING_KEY=ManifestSigner.generate().private_key_b64(),
        DEVICE_REGISTRATION_LIMIT="1000/hour",
        LOG_LEVEL="warning",
    )
    if service_url is not None:
        env["DATABASE_URL"] = service_url
    servers: list[subprocess.Popen[bytes]] = []
    stop_analyzing = threading.Event()
    analyzer: threading.Thread | None = None
    try:
        for index, port in enumerate(ports):
            instance_dir = data_dir / f"instance-{index}"
            instance_dir.mkdir()
            log_path = instance_dir / "server.log"
            servers.append(_start(port, {**env, "SCANCTL_DATA_DIR": str(instance_dir)}, log_path))
        for index, (port, server) in enumerate(zip(ports, servers, strict=True)):
            _wait_ready(
                f"http://127.0.0.1:{port}", server, data_dir / f"instance-{index}" / "server.log"
            )
        fast = all(importlib.util.find_spec(m) is not None for m in ("httptools", "uvloop"))
        print(f"server_http={'httptools+uvloop' if fast else 'h11+asyncio'}")
        print(f"database={'postgresql' if service_url else 'sqlite'}")
        print(f"instances={instances}")
        door = Door(ports, hmac_secret, jwt_secret)
        print(f"seed_s={door.seed(f'http://127.0.0.1:{ports[0]}'):.1f}")
        print(f"tickets={TICKETS}")
        if owner_url is not None:
            # What autovacuum does within a minute or so of a bulk import: without
            # statistics the planner takes 100,000 tickets for one row.
            analyze(owner_url)
            print(f"autovacuum={server_setting(owner_url, 'autovacuum')}")
            print(f"analyze_every_s={analyze_every}")
            if analyze_every > 0:
                # The scans table grows from empty during the run. Where autovacuum is
                # off (this machine) nothing else would ever give the planner its size.
                analyzer = threading.Thread(
                    target=_analyze_every, args=(owner_url, analyze_every, stop_analyzing)
                )
                analyzer.start()
        # Warm-up: first-use costs (imports, caches, connections) are not the steady state.
        asyncio.run(open_loop(door, 500, 5.0))
        for name, value in asyncio.run(open_loop(door, RATE, SECONDS)).items():
            print(f"{name}={value}")
        scan_rate, scan_errors = asyncio.run(
            saturate(
                ports,
                lambda port: door.request(int(time.time() * 1000), port),
                SATURATION_SECONDS,
            )
        )
        health = {p: f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\n\r\n".encode() for p in ports}
        health_rate, _ = asyncio.run(saturate(ports, health.__getitem__, SATURATION_SECONDS))
        print(f"scan_saturation_per_s={scan_rate:.0f}")
        print(f"scan_saturation_errors={scan_errors}")
        print(f"health_saturation_per_s={health_rate:.0f}")
    finally:
        stop_analyzing.set()
        if analyzer is not None:
            analyzer.join()
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
    if owner_url is not None and service_url is not None:
        for name, value in rls_overhead(owner_url, service_url, door, rls_samples).items():
            print(f"{name}={value}")


if __name__ == "__main__":
    main()
