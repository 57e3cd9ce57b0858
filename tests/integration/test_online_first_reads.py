"""An online-first gate against a stand-in backend (a real HTTP server, scripted): each read
gets one scan id at the gate, however it is decided; the backend's answer is taken whole or
not at all; a lane's rate limit counts every read; a refreshed manifest can re-zone the box."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from scanctl.core import Decision, Reason, decision_to_wire, message_for, ms_of_iso
from scanctl.core.ids import uuid7
from tests.client.fake_backend import Answer, FakeBackend, slow
from tests.daemon.gate_kit import (
    EVENT,
    SCANCTL,
    Gate,
    api,
    gate_toml,
    now_ms,
    provision,
    pty_pair,
    wait_for,
    wait_ready,
)
from tests.daemon.test_daemon_process import BAD, GOOD, read_exactly

pytestmark = pytest.mark.slow

SCAN = "POST /api/scan"
RECONCILE = "POST /api/offline/reconcile"
MANIFEST = f"GET /api/offline/manifest/{EVENT}"
LATE = 1.0
"""Seconds a scripted answer waits: well past the gate's 300 ms deadline."""


def lane(name: str, link: Path, zone: str) -> str:
    return (
        f'[[scanner]]\nname = "{name}"\ndriver = "serial"\npath = "{link}"\ngate = "north"\n'
        f'zone = "{zone}"\nfeedback = "honeywell"\n'
    )


def start(gate: Gate, url: str, lanes: str) -> subprocess.Popen[bytes]:
    """`scanctl daemon run` online-first against ``url``; stderr goes to daemon.log."""
    config = gate_toml(
        gate.data_dir,
        lanes,
        settings=f'backend = "{url}"\nmode = "online-first"\nmanifest_refresh_s = 3600',
    )
    with (gate.data_dir / "daemon.log").open("wb") as log:
        return subprocess.Popen([SCANCTL, "daemon", "run", "--config", str(config)], stderr=log)


@contextmanager
def online_gate(
    tmp_path: Path, fake: FakeBackend, url: str, names: tuple[str, ...], **kw: Any
) -> Iterator[tuple[Gate, dict[str, int], Path]]:
    """A running online-first gate with one pty lane per name (zone GA, GA tickets)."""
    at = now_ms()
    gate = provision(tmp_path, at, zones=("GA",), **kw)
    # Each refresh gets the next delta: refreshes run at start and after a lost answer.
    fake.script(MANIFEST, *(Answer(body=gate.delta(at, sequence)) for sequence in range(2, 40)))
    with ExitStack() as stack:
        masters = {name: stack.enter_context(pty_pair(tmp_path / name)) for name in names}
        daemon = start(gate, url, "\n".join(lane(name, tmp_path / name, "GA") for name in names))
        socket = tmp_path / "daemon.sock"
        try:
            wait_ready(socket)
            wait_for(lambda: api(socket, "/status")["link"]["online"], "the link", 20)
            yield gate, masters, socket
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=20) == 0, (tmp_path / "daemon.log").read_text()


def scan(master: int, code: str) -> bytes:
    os.write(master, code.encode() + b"\r")
    return read_exactly(master, 3)


def last_journaled(socket: Path) -> dict[str, Any]:
    scans: list[dict[str, Any]] = api(socket, "/scans?limit=1")["scans"]
    return scans[0]


def pushed(fake: FakeBackend) -> dict[str, dict[str, Any]]:
    """Every scan the gate has pushed to /api/offline/reconcile, by id."""
    return {scan["id"]: scan for seen in fake.seen(RECONCILE) for scan in seen.json()["scans"]}


def test_a_read_is_one_scan_id_whether_the_backend_answers_in_time_or_not(
    tmp_path: Path, fake: FakeBackend, url: str
) -> None:
    with online_gate(tmp_path, fake, url, ("north-1",)) as (gate, masters, socket):
        north = masters["north-1"]
        assert scan(north, gate.token(gate.tickets[0], now_ms())) == GOOD
        asked = fake.seen(SCAN)[-1].json()
        assert {k: asked.get(k) for k in ("lane", "gate", "direction", "zone")} == {
            "lane": "north-1",
            "gate": "north",
            "direction": "entry",
            "zone": "GA",
        }
        online = last_journaled(socket)
        assert online["decided_by"] == "online"
        assert online["scan_id"] == asked["scanId"]
        assert online["scanned_at_ms"] == ms_of_iso(asked["timestamp"])

        fake.script(SCAN, slow(LATE))  # the backend decides, but too late for the door
        assert scan(north, gate.token(gate.tickets[1], now_ms())) == GOOD
        asked = fake.seen(SCAN)[-1].json()
        offline = last_journaled(socket)
        assert (offline["decided_by"], offline["reason"]) == ("offline", "ADMITTED")
        assert offline["scan_id"] == asked["scanId"] != online["scan_id"]
        assert offline["scanned_at_ms"] == ms_of_iso(asked["timestamp"])
        # The same read reaches the backend again by reconciliation: the same id, the same
        # read time, so the backend can store it once.
        uploaded = wait_for(lambda: pushed(fake).get(asked["scanId"]), "the offline scan's push")
        assert ms_of_iso(uploaded["scannedAt"]) == offline["scanned_at_ms"]
        assert online["scan_id"] not in pushed(fake)  # the backend stored that one itself


def test_the_backends_answer_is_taken_whole_or_the_gate_decides(
    tmp_path: Path, fake: FakeBackend, url: str
) -> None:
    with online_gate(tmp_path, fake, url, ("north-1",)) as (gate, masters, socket):
        north, (first, second, third) = masters["north-1"], gate.tickets[:3]
        refused = Decision(False, Reason.WRONG_ZONE, message_for(Reason.WRONG_ZONE), first, True)
        fake.script(
            SCAN,
            Answer(body=decision_to_wire(refused, uuid7(now_ms()), now_ms())),
            # A decision without the scan's id and time is no answer this gate applies,
            Answer(body={"allowed": True, "reason": "ADMITTED", "message": "Welcome"}),
            # nor is one with a reason it does not know.
            Answer(body={**decision_to_wire(refused, "x", 0), "reason": "MOON_PHASE"}),
        )
        assert scan(north, gate.token(first, now_ms())) == BAD
        taken = last_journaled(socket)
        assert (taken["reason"], taken["ticket_id"], taken["decided_by"]) == (
            "WRONG_ZONE",
            first,
            "online",
        )
        assert scan(north, gate.token(second, now_ms())) == GOOD
        assert (last_journaled(socket)["reason"], last_journaled(socket)["decided_by"]) == (
            "ADMITTED",
            "offline",
        )
        assert scan(north, gate.token(third, now_ms())) == GOOD
        assert last_journaled(socket)["decided_by"] == "offline"


def test_a_lanes_rate_limit_counts_its_online_reads_too(
    tmp_path: Path, fake: FakeBackend, url: str
) -> None:
    limited = {"scanner_rate_limit_per_minute": 3}
    with online_gate(tmp_path, fake, url, ("north-1", "north-2"), policy=limited) as (
        gate,
        masters,
        socket,
    ):
        for ticket in gate.tickets[:3]:  # decided online: the backend admits
            assert scan(masters["north-1"], gate.token(ticket, now_ms())) == GOOD
        fake.script(SCAN, slow(LATE), slow(LATE))  # then the gate must decide alone
        assert scan(masters["north-1"], gate.token(gate.tickets[3], now_ms())) == BAD
        journaled = last_journaled(socket)
        assert (journaled["reason"], journaled["decided_by"]) == ("RATE_LIMITED", "offline")
        # Each lane is its own unit: the box's other scanner is not held back.
        assert scan(masters["north-2"], gate.token(gate.tickets[4], now_ms())) == GOOD
        journaled = last_journaled(socket)
        assert (journaled["reason"], journaled["scanner"]) == ("ADMITTED", "north-2")


def test_a_refreshed_manifest_that_rezones_the_box_stops_the_daemon_with_exit_2(
    tmp_path: Path, fake: FakeBackend, url: str
) -> None:
    at = now_ms()
    gate = provision(tmp_path, at, zones=("GA",), device_zone="GA")
    fake.script(MANIFEST, Answer(body=gate.delta(at, 2, device_zone="VIP")))
    with pty_pair(tmp_path / "north-1"):
        daemon = start(gate, url, lane("north-1", tmp_path / "north-1", "GA"))
        try:
            assert daemon.wait(timeout=30) == 2
        finally:
            if daemon.poll() is None:
                daemon.kill()
    last_line = (tmp_path / "daemon.log").read_text().strip().splitlines()[-1]
    assert "scanner 'north-1': the lane's zone 'GA' contradicts the device's registered" in (
        last_line
    )
    assert "'VIP'" in last_line
