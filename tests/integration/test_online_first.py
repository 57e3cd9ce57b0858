"""online-first: the gate asks the backend first, naming each lane's gate, direction and
zone, and decides offline, within its deadline, once the backend is gone."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scanctl.core import derive_event_key, mint_token, new_nonce
from tests.backend.helpers import SCANCTL, start_server, wait_for
from tests.backend.offline_kit import make_venue
from tests.daemon.gate_kit import api, pty_pair, wait_ready
from tests.integration.kit import provision_gate, restart_and_drain
from tests.integration.test_gate_with_backend import backend_scans

pytestmark = pytest.mark.slow

GOOD, BAD = b"\x1b7,", b"\x1b8,"


def lane(name: str, link: Path, zone: str) -> str:
    return (
        f'[[scanner]]\nname = "{name}"\ndriver = "serial"\npath = "{link}"\ngate = "{name}"\n'
        f'zone = "{zone}"\nfeedback = "honeywell"\n'
    )


def test_online_first_asks_the_backend_per_lane_and_falls_back_when_it_is_gone(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "backend")
    try:
        now = datetime.now(UTC)
        venue = make_venue(
            server,
            "online-first",
            tickets=2,
            starts=(now - timedelta(hours=1)).isoformat(),
            ends=(now + timedelta(hours=5)).isoformat(),
            zones=["GA"],
        )
        gate_dir = tmp_path / "gate"
        provision_gate(server, venue, gate_dir)  # registered without a zone: lanes name theirs
        event_key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
        ga_link, vip_link = gate_dir / "ga", gate_dir / "vip"
        with pty_pair(ga_link) as ga, pty_pair(vip_link) as vip:
            config = gate_dir / "gate.toml"
            config.write_text(
                f'backend = "{server.url}"\nevent_id = "{venue.event}"\ndata_dir = "{gate_dir}"\n'
                f'mode = "online-first"\n\n{lane("ga", ga_link, "GA")}\n'
                f"{lane('vip', vip_link, 'VIP')}"
            )
            with (gate_dir / "daemon.log").open("wb") as log:
                daemon = subprocess.Popen(
                    [SCANCTL, "daemon", "run", "--config", str(config)], stderr=log
                )
            socket = gate_dir / "daemon.sock"

            def scan(master: int, ticket: str) -> tuple[bytes, float]:
                """The scanner's answer to a fresh code, and how long it took."""
                started = time.monotonic()
                token = mint_token(event_key, ticket, time.time_ns() // 1_000_000, new_nonce())
                os.write(master, token.encode() + b"\r")
                assert select.select([master], [], [], 5)[0], "no answer within 5 s"
                return os.read(master, 3), time.monotonic() - started

            try:
                wait_ready(socket)
                wait_for(
                    lambda: api(socket, "/status")["link"]["online"], what="the link", timeout=20
                )
                first, second = venue.ticket_ids
                assert scan(vip, first)[0] == BAD  # a GA ticket at a VIP lane
                assert scan(ga, first)[0] == GOOD
                assert scan(ga, first)[0] == BAD  # inside already
                journaled = api(socket, "/scans?limit=10")["scans"]
                assert [(s["reason"], s["decided_by"]) for s in journaled] == [
                    ("ALREADY_SCANNED", "online"),
                    ("ADMITTED", "online"),
                    ("WRONG_ZONE", "online"),
                ]
                assert api(socket, "/status")["journal"]["unsent"] == 0  # the backend has them

                assert server.stop() == 0
                answer, took = scan(ga, second)
                assert answer == GOOD
                assert took < 1.0  # the online deadline is 300 ms
                assert api(socket, "/scans?limit=1")["scans"][0]["decided_by"] == "offline"
                assert scan(vip, second)[0] == BAD  # the offline decision knows the zone too

                server = restart_and_drain(server, socket)
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=20) == 0
        try:
            stored = backend_scans(server, venue.tenant, venue.event)
            by_ticket = sorted((s["ticketId"], s["reason"], s["decidedBy"]) for s in stored)
            assert by_ticket == sorted(
                [
                    (first, "WRONG_ZONE", "online"),
                    (first, "ADMITTED", "online"),
                    (first, "ALREADY_SCANNED", "online"),
                    (second, "ADMITTED", "offline"),
                    (second, "WRONG_ZONE", "offline"),
                ]
            )
        finally:
            server.stop()
    finally:
        server.stop()  # whatever failed: no backend outlives its test
