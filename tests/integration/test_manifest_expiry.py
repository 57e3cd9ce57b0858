"""The issue's "done when": a manifest expires at a gate cut off from its backend; the
gate does what the venue documented (deny, by default), a supervisor overrides it with
the CLI against the running daemon, admissions then carry a warning (their own beep,
the journal), and once the backend is back it has the scans with their warnings and
the override in its audit log.

A real backend (`scanctl server run`, validity bound of 7 s so the manifest expires
quickly), a real daemon with a Honeywell host-ACK scanner emulated on a pty.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanctl.core import derive_event_key, mint_token, new_nonce
from tests.backend.helpers import SCANCTL, start_server
from tests.backend.offline_kit import admin, make_venue
from tests.daemon.gate_kit import api, pty_pair, wait_for, wait_ready
from tests.emulators import HoneywellHostAck
from tests.integration.kit import provision_gate, restart_and_drain
from tests.integration.test_gate_with_backend import backend_scans

pytestmark = pytest.mark.slow

OVERRIDE_WARNING = "offline ticket data is out of date; admitted on Sam Door's override"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCANCTL, *args], capture_output=True, text=True, check=False, timeout=30)


def test_an_expired_manifest_denies_until_a_supervisor_overrides_and_all_of_it_reaches_upstream(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "backend", OFFLINE_MANIFEST_VALIDITY_HOURS="0.002")
    now = datetime.now(UTC)
    venue = make_venue(
        server,
        "manifest-expiry",
        tickets=4,
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),  # the bound, not the event, ends it
    )
    gate_dir = tmp_path / "gate"
    provision_gate(server, venue, gate_dir)
    key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
    assert server.stop() == 0  # the backend is gone: the manifest runs out offline

    def code(ticket: str) -> bytes:
        return b"]Q1" + mint_token(key, ticket, time.time_ns() // 1_000_000, new_nonce()).encode()

    link = gate_dir / "scanner"
    config = gate_dir / "gate.toml"
    with pty_pair(link) as master, HoneywellHostAck(master) as scanner:
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
            wait_for(
                lambda: api(socket, "/status")["manifest"]["stale"], "the manifest to expire", 20
            )
            tickets = venue.ticket_ids
            # The documented default: deny, with the bad-read sound.
            assert scanner.scan(code(tickets[0]) + b"\r") == "bad"
            assert api(socket, "/scans?limit=1")["scans"][0]["reason"] == "MANIFEST_STALE"

            applied = cli(
                "daemon", "override", "admit-with-warning", "--by", "Sam Door", "--for", "45",
                "--note", "backend down, queue outside", "--config", str(config), "--json",
            )  # fmt: skip
            assert applied.returncode == 0, applied.stderr
            override = json.loads(applied.stdout)

            for ticket in tickets[1:3]:
                assert scanner.scan(code(ticket) + b"\r") == "warning"
            journaled = api(socket, "/scans?limit=10")["scans"]
            assert [(s["reason"], s["warning"]) for s in journaled[:2]] == [
                ("ADMITTED", OVERRIDE_WARNING)
            ] * 2
            status = cli("daemon", "status", "--config", str(config))
            assert "override: on an expired manifest gates admit-with-warning" in status.stdout

            server = restart_and_drain(server, socket)
            wait_for(
                lambda: all(o["sent"] for o in api(socket, "/overrides")["overrides"]),
                "the override to reach the backend",
                30,
            )
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=20) == 0
    try:
        stored = {s["ticketId"]: s for s in backend_scans(server, venue.tenant, venue.event)}
        assert (stored[tickets[0]]["reason"], stored[tickets[0]]["warning"]) == (
            "MANIFEST_STALE",
            None,
        )
        for ticket in tickets[1:3]:
            assert (stored[ticket]["allowed"], stored[ticket]["warning"]) == (
                True,
                OVERRIDE_WARNING,
            )
        with admin(server, venue.tenant) as http:
            audit: list[dict[str, Any]] = http.get("/api/audit").json()
        (entry,) = [a for a in audit if a["action"] == "stale_manifest_override"]
        detail = json.loads(entry["detail"])
        assert (entry["actor"], entry["targetId"], entry["outcome"]) == (
            "Sam Door",
            override["id"],
            "applied",
        )
        assert (detail["action"], detail["by"], detail["note"]) == (
            "admit-with-warning",
            "Sam Door",
            "backend down, queue outside",
        )
        assert datetime.fromisoformat(detail["until"]).timestamp() * 1000 == pytest.approx(
            override["until_ms"], abs=1
        )
    finally:
        server.stop()
