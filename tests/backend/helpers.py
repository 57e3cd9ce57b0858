"""Shared helpers of the backend tests: secrets, tokens, a real server process."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scanctl.backend.auth.principal import Role
from scanctl.backend.auth.tokens import issue_person_token
from scanctl.manifests import ManifestSigner
from tests.polling import wait_for as wait_for

SCANCTL = str(Path(sys.executable).parent / "scanctl")


def fresh_secret() -> str:
    """A new strong secret for one test run (no secret is ever hard-coded)."""
    return secrets.token_urlsafe(48)


def fresh_signing_key() -> str:
    """A new manifest signing key (MANIFEST_SIGNING_KEY form) for one test run."""
    return ManifestSigner.generate().private_key_b64()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An environment for a server process: fresh secrets, a temp data dir, no inherited config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    }
    env.update(
        HMAC_SECRET=fresh_secret(),
        JWT_SECRET=fresh_secret(),
        MANIFEST_SIGNING_KEY=fresh_signing_key(),
        SCANCTL_DATA_DIR=str(data_dir),
        LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A `scanctl server run` subprocess on 127.0.0.1 and what a test needs to talk to it."""

    process: subprocess.Popen[bytes]
    port: int
    env: Mapping[str, str]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwt_secret(self) -> str:
        return self.env["JWT_SECRET"]

    def token(
        self,
        role: Role,
        tenant: str,
        venue: str | None = None,
        *,
        subject: str | None = None,
        ttl: int = 3600,
    ) -> str:
        return issue_person_token(
            self.jwt_secret,
            subject=subject or f"{role.value.lower()}@{tenant}",
            tenant_id=tenant,
            role=role,
            venue_id=venue,
            ttl_seconds=ttl,
            now_s=int(time.time()),
        )

    def client(
        self, token: str | None = None, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Client:
        merged = dict(headers or {})
        if token:
            merged["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=merged, timeout=30, **kwargs)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(data_dir: Path, *, args: tuple[str, ...] = (), **extra_env: str) -> ServerProcess:
    """Start `scanctl server run` on a free port and wait (with a deadline) until it is ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = base_env(data_dir, **extra_env)
    log_path = data_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [SCANCTL, "server", "run", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, port, env, log_path)
    try:
        wait_for(server.ready, timeout=30, what="the server to be ready")
    except BaseException:
        server.stop()
        raise
    return server


def new_id() -> str:
    return str(uuid.uuid4())


class AppClient:
    """An in-process app with its lifespan run, driven by httpx over ASGI from sync tests.

    (starlette's TestClient warns about httpx; this is the same idea in a few lines.)
    """

    def __init__(self, app: Any, headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.headers = dict(headers or {})

    def __enter__(self) -> AppClient:
        from anyio.from_thread import start_blocking_portal

        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._lifespan = self.app.router.lifespan_context(self.app)
        self.portal.call(self._lifespan.__aenter__)
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, raise_app_exceptions=False),
            base_url="http://testserver",
            headers=self.headers,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.portal.call(self._client.aclose)
        self.portal.call(self._lifespan.__aexit__, None, None, None)
        self._portal_cm.__exit__(None, None, None)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        from functools import partial

        response: httpx.Response = self.portal.call(
            partial(self._client.request, method, url, **kwargs)
        )
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


def run_cli(tmp_path: Path, url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`scanctl ARGS` against ``url`` with ``token``, in a clean home (no contexts, no keyring)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "SCANCTL_URL": url,
        "SCANCTL_TOKEN": token,
        "NO_COLOR": "1",
        "COLUMNS": "200",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    return subprocess.run(
        [SCANCTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
