"""A real gate daemon and a real backend: the gate keeps deciding while the backend is
down, and once it is back every journaled scan reaches it exactly once."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanctl.core import derive_event_key, mint_token, new_nonce
from scanctl.daemon.journal import Journal
from tests.backend.helpers import SCANCTL, ServerProcess, start_server
from tests.backend.offline_kit import admin, make_venue
from tests.daemon.gate_kit import api, pty_pair, wait_ready
from tests.integration.kit import provision_gate, restart_and_drain

pytestmark = pytest.mark.slow

SCANS = 40
GOOD = b"\x1b7,"


def backend_scans(server: ServerProcess, tenant: str, event: str) -> list[dict[str, Any]]:
    scans: list[dict[str, Any]] = []
    cursor = None
    with admin(server, tenant) as http:
        while True:
            params = {"eventId": event, "limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/scans", params=params).json()
            scans += page["scans"]
            cursor = page["next"]
            if cursor is None:
                return scans


def test_the_gate_decides_offline_and_syncs_exactly_once_when_the_backend_returns(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "backend")
    now = datetime.now(UTC)
    venue = make_venue(
        server,
        "integration",
        tickets=SCANS,
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),
    )
    gate_dir = tmp_path / "gate"
    provision_gate(server, venue, gate_dir)
    event_key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
    assert server.stop() == 0  # the backend is down for the whole run

    link = gate_dir / "scanner"
    with pty_pair(link) as master:
        config = gate_dir / "gate.toml"
        config.write_text(
            f'backend = "{server.url}"\nevent_id = "{venue.event}"\ndata_dir = "{gate_dir}"\n'
            f'mode = "offline-only"\n\n[[scanner]]\nname = "north-1"\ndriver = "serial"\n'
            f'path = "{link}"\ngate = "north"\nfeedback = "honeywell"\n'
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
                assert ready, "the gate stopped deciding while the backend was down"
                assert os.read(master, 3) == GOOD
            assert api(socket, "/status")["journal"]["unsent"] == SCANS

            server = restart_and_drain(server, socket)
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=20) == 0
    try:
        journal = Journal(gate_dir / "gate.db")
        journaled = journal.scan_ids()
        journal.close()
        stored = backend_scans(server, venue.tenant, venue.event)
        assert sorted(scan["id"] for scan in stored) == sorted(journaled)
        assert all(scan["decidedBy"] == "offline" for scan in stored)
        assert sum(scan["allowed"] for scan in stored) == SCANS
    finally:
        server.stop()
