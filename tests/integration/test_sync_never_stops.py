"""A gate whose manifest refreshes are refused (tampered on the way) keeps pushing its
scans, and says so with an alert: sync never stops quietly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from scanctl.core import derive_event_key, mint_token, new_nonce
from tests.backend.helpers import SCANCTL, ServerProcess, start_server, wait_for
from tests.backend.offline_kit import make_venue
from tests.daemon.gate_kit import api, pty_pair, wait_ready
from tests.integration.kit import provision_gate

pytestmark = pytest.mark.slow

SCANS = 5
GOOD = b"\x1b7,"


@contextmanager
def tampering_proxy(upstream: str) -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP proxy to ``upstream`` that flips one byte of every manifest."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
            }
            with httpx.Client(base_url=upstream, timeout=10) as client:
                answer = client.request(self.command, self.path, content=body, headers=headers)
            content = answer.content
            if "/api/offline/manifest/" in self.path and answer.status_code == 200:
                seen.append(self.path)
                content = content[:40] + bytes([content[40] ^ 1]) + content[41:]
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}", seen
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_refused_manifests_never_hold_up_the_outbox(tmp_path: Path) -> None:
    server: ServerProcess = start_server(tmp_path / "backend")
    try:
        now = datetime.now(UTC)
        venue = make_venue(
            server,
            "sync-never-stops",
            tickets=SCANS,
            starts=(now - timedelta(hours=1)).isoformat(),
            ends=(now + timedelta(hours=5)).isoformat(),
        )
        gate_dir = tmp_path / "gate"
        provision_gate(server, venue, gate_dir)
        event_key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
        with (
            tampering_proxy(server.url) as (proxy_url, tampered),
            pty_pair(gate_dir / "scanner") as master,
        ):
            config = gate_dir / "gate.toml"
            config.write_text(
                f'backend = "{proxy_url}"\nevent_id = "{venue.event}"\ndata_dir = "{gate_dir}"\n'
                'mode = "offline-only"\nmanifest_refresh_s = 5\n\n[[scanner]]\nname = "north-1"\n'
                f'driver = "serial"\npath = "{gate_dir / "scanner"}"\ngate = "north"\n'
                'feedback = "honeywell"\n'
            )
            with (gate_dir / "daemon.log").open("wb") as log:
                daemon = subprocess.Popen(
                    [SCANCTL, "daemon", "run", "--config", str(config)], stderr=log
                )
            socket = gate_dir / "daemon.sock"
            try:
                wait_ready(socket)
                for ticket in venue.ticket_ids:
                    token = mint_token(event_key, ticket, time.time_ns() // 1_000_000, new_nonce())
                    os.write(master, token.encode() + b"\r")
                    ready, _, _ = select.select([master], [], [], 5)
                    assert ready and os.read(master, 3) == GOOD
                wait_for(
                    lambda: api(socket, "/status")["journal"]["unsent"] == 0,
                    timeout=30,
                    what="the outbox to drain while manifests are refused",
                )
                assert tampered, "the proxy never saw a manifest pull"
                kinds = {a["kind"] for a in api(socket, "/alerts")["alerts"] if a["active"]}
                assert "manifest_refused" in kinds
                assert "task_failed" not in kinds
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=20) == 0
    finally:
        server.stop()
