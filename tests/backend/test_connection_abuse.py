"""Connection abuse on loopback, bounded: idle sockets, slow headers (slowloris) and huge
headers never take `/health` off the air, and each kind is closed by its own bound."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.helpers import ServerProcess, start_server, wait_for

IDLE = 150
SLOW = 100
HUGE = 20
MAX_CONNECTIONS = 100
HEADER_TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(
        tmp_path_factory.mktemp("abuse"),
        MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_S),
        MAX_HEADER_BYTES="16384",
        KEEP_ALIVE_SECONDS="2",
    )
    try:
        yield running
    finally:
        assert running.stop() == 0, running.log()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (anything it said first is read and dropped)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def _health(port: int) -> float:
    """Seconds `/health` took on a fresh connection (raises when it does not answer 200)."""
    started = time.perf_counter()
    with httpx.Client(timeout=2.0) as client:
        response = client.get(f"http://127.0.0.1:{port}/health")
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


def test_health_answers_through_idle_slow_and_huge_header_floods(guarded: ServerProcess) -> None:
    port = guarded.port
    sockets: list[socket.socket] = []
    health_times: list[float] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def poll_health() -> None:
        while not stop.is_set():
            try:
                health_times.append(_health(port))
            except BaseException as exc:
                failures.append(exc)
            stop.wait(0.05)

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        idle = [_connect(port) for _ in range(IDLE)]
        slow = [_connect(port) for _ in range(SLOW)]
        sockets += idle + slow
        huge = []
        for _ in range(HUGE):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40_000)
            huge.append(sock)
        sockets += huge
        # Slowloris: a byte of headers now and then, never the blank line.
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 1.5
        drip = b"GET /health HTTP/1.1\r\nHost: x\r\n"
        step = 0
        while time.monotonic() < deadline:
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(drip[step % len(drip) : step % len(drip) + 1])
            step += 1
            time.sleep(0.1)  # the attacker's pace, not a wait for a condition
        # Huge headers: 431 and closed at once.
        for sock in huge:
            sock.settimeout(3)
            answer = sock.recv(200)
            assert answer.startswith(b"HTTP/1.1 431"), answer
        # Every idle and slow socket is closed by now: by the connection bound (the
        # longest waiting first) or by the header deadline.
        wait_for(
            lambda: all(_closed_by_server(s) for s in idle + slow),
            timeout=5,
            what="idle and slow sockets closed",
        )
    finally:
        stop.set()
        poller.join(10)
        for sock in sockets:
            sock.close()
    assert not failures, failures[:3]
    assert len(health_times) >= 10
    assert max(health_times) < 1.0, sorted(health_times)[-5:]


def test_a_slow_client_is_cut_at_the_header_deadline(guarded: ServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", guarded.port), timeout=5)
    try:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        answer = sock.recv(200)
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert HEADER_TIMEOUT_S - 0.2 < elapsed < HEADER_TIMEOUT_S + 2, elapsed
    finally:
        sock.close()
    # An ordinary client on a keep-alive connection is served as before.
    with httpx.Client(timeout=2) as client:
        for _ in range(3):
            assert client.get(f"http://127.0.0.1:{guarded.port}/health").status_code == 200


def test_the_bound_stays_under_the_file_limit(tmp_path: Path) -> None:
    import resource

    from scanctl.backend.server import FILES_KEPT_SPARE, connection_bound

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_bound(10**6) <= max(16, soft - FILES_KEPT_SPARE)
    assert connection_bound(20) == 20
