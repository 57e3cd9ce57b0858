"""A private `redis-server` per test: stopped and restarted at will, never the shared one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.backend.helpers import free_port, wait_for
from tests.services import service_unavailable

__all__ = ["PrivateRedis", "metric", "private_redis", "redis_server"]


class PrivateRedis:
    """A redis-server subprocess on a fixed free port, without persistence."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart, on the same port) and wait until it answers PING."""
        assert self.process is None or self.process.poll() is not None
        log = (self.directory / f"redis-{self.port}.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.directory),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")

    def answers(self) -> bool:
        import redis

        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.process.returncode}")
        try:
            with redis.Redis(port=self.port, socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: an outage, not a shutdown (no goodbye to clients)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """A started private Redis, killed at the end; unavailable -> skip (fail in CI)."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if binary is None:
        service_unavailable("redis-server is not installed (needed for a private Redis)")
    directory.mkdir(parents=True, exist_ok=True)
    server = PrivateRedis(binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis for one test."""
    with private_redis(tmp_path / "redis") as server:
        yield server


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (fails when the sample is absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    raise AssertionError(f"no sample {prefix.strip()} in /metrics")
