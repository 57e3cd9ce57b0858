"""Issue 14, done when: two real gate daemons (serial lanes on ptys) decide offline while
the backend is down and admit one ticket twice in every way that can be known; once the
backend is back, every double entry is reported to BOTH gates, shown in both TUIs'
models, kept across a daemon restart (with the backend down again), and listed by the CLI.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot

from scanctl.backend.auth.principal import Role
from scanctl.core import derive_event_key, mint_token, new_nonce, static_code_hash
from scanctl.tui import DoorApp, LiveSource
from scanctl.tui.source import Backoff
from tests.backend.helpers import SCANCTL, ServerProcess, run_cli, start_server, wait_for
from tests.backend.offline_kit import Venue, admin, make_venue
from tests.daemon.gate_kit import api, pty_pair, wait_ready
from tests.integration.kit import provision_gate, restart
from tests.tui.pilot_kit import run_app, until

pytestmark = pytest.mark.slow

GOOD = b"\x1b7,"
PRINTED_TICKET = "c0de0001"
KINDS = {"same-code", "same-printed-code", "entry-without-exit", "over-allowance"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Box:
    """One gate computer: its daemon process, socket and scanners' pty masters."""

    name: str
    directory: Path
    config: Path
    masters: dict[str, int]
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "daemon.sock"

    def start(self) -> None:
        log = (self.directory / "daemon.log").open("ab")
        self.process = subprocess.Popen(
            [SCANCTL, "daemon", "run", "--config", str(self.config)], stderr=log
        )
        log.close()
        wait_ready(self.socket)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=20) == 0
        self.process = None

    def scan(self, lane: str, code: str) -> None:
        """Present a code at a lane and require the good beep."""
        master = self.masters[lane]
        os.write(master, code.encode() + b"\r")
        ready, _, _ = select.select([master], [], [], 5)
        assert ready, f"{self.name}/{lane} gave no feedback"
        assert os.read(master, 3) == GOOD, f"{self.name}/{lane} refused {code[:12]}…"

    def conflicts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api(self.socket, "/conflicts")["conflicts"]
        return found


@contextmanager
def boxes(tmp_path: Path, server: ServerProcess, venue: Venue) -> Iterator[tuple[Box, Box]]:
    """Gate A (north: an entry and an exit lane) and gate B (south: one entry lane)."""
    lanes = {"a": {"a-in": "entry", "a-out": "exit"}, "b": {"b-in": "entry"}}
    gates = {"a": "north", "b": "south"}
    with ExitStack() as stack:
        made = []
        for name, scanners in lanes.items():
            directory = tmp_path / f"gate-{name}"
            provision_gate(server, venue, directory)
            masters, tables = {}, []
            for lane, direction in scanners.items():
                link = directory / lane
                masters[lane] = stack.enter_context(pty_pair(link))
                tables.append(
                    f'[[scanner]]\nname = "{lane}"\ndriver = "serial"\npath = "{link}"\n'
                    f'gate = "{gates[name]}"\ndirection = "{direction}"\nfeedback = "honeywell"\n'
                )
            config = directory / "gate.toml"
            config.write_text(
                f'backend = "{server.url}"\nevent_id = "{venue.event}"\n'
                f'data_dir = "{directory}"\nmode = "offline-only"\nconflict_check_s = 0.5\n\n'
                + "\n".join(tables)
            )
            made.append(Box(name, directory, config, masters))
        a, b = made
        try:
            yield a, b
        finally:
            for box in made:
                if box.process is not None:
                    box.process.kill()
                    box.process.wait(timeout=10)


def tui_model(socket: Path) -> dict[str, dict[str, Any]]:
    """What a TUI on this gate's local API holds once it shows all four conflicts."""
    shown: dict[str, dict[str, Any]] = {}

    async def body(app: DoorApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(app.state.conflicts) == 4, "four conflicts", 15)
        await pilot.press("5")
        await until(pilot, lambda: app.screen.query("#conflicts"), "the conflicts screen")
        shown.update(app.state.conflicts)

    run_app(LiveSource(socket, poll_s=0.2, backoff=Backoff(0.05, 0.3)), body)
    return shown


def test_every_double_entry_reaches_both_gates_their_tuis_a_restart_and_the_cli(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "backend")
    now = datetime.now(UTC)
    venue = make_venue(
        server,
        "double-entries",
        tickets=3,
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),
    )
    printed = secrets.token_urlsafe(24)
    with admin(server, venue.tenant) as http:
        response = http.post(
            f"/api/catalog/events/{venue.event}/tickets",
            json={"tickets": [{"id": PRINTED_TICKET, "staticHash": static_code_hash(printed)}]},
        )
        assert response.status_code == 200, response.text
    event_key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
    t_code, t_noexit, t_over = venue.ticket_ids

    def fresh(ticket: str) -> str:
        return mint_token(event_key, ticket, now_ms(), new_nonce())

    def tick() -> None:
        """Let the clock move on, so that gate B's read is never in gate A's ms: the first
        admission is then north's by time, not by a tie-break."""
        left = now_ms()
        wait_for(lambda: now_ms() > left + 5, timeout=1, what="the clock to move on")

    with boxes(tmp_path, server, venue) as (a, b):
        assert server.stop() == 0  # the backend is down while the doors are busy
        a.start()
        b.start()
        screenshot = fresh(t_code)
        a.scan("a-in", screenshot)
        tick()
        b.scan("b-in", screenshot)  # same-code: one rotating code, two gates
        a.scan("a-in", printed)
        tick()
        b.scan("b-in", printed)  # same-printed-code
        a.scan("a-in", fresh(t_noexit))
        tick()
        b.scan("b-in", fresh(t_noexit))  # entry-without-exit: two codes, no exit
        a.scan("a-in", fresh(t_over))
        a.scan("a-out", fresh(t_over))
        tick()
        b.scan("b-in", fresh(t_over))  # over-allowance: out and in again, re-entry off
        assert a.conflicts() == [] and b.conflicts() == []

        server = restart(server)  # both gates push, then ask; the first never re-uploads
        for box in (a, b):
            wait_for(
                lambda box=box: {c["kind"] for c in box.conflicts()} == KINDS,
                timeout=30,
                what=f"gate {box.name} to hear of every kind",
            )
        by_gate = {box.name: {c["id"]: c for c in box.conflicts()} for box in (a, b)}
        assert by_gate["a"].keys() == by_gate["b"].keys()  # the same ids at both gates
        tickets = {c["kind"]: c["ticket_id"] for c in by_gate["a"].values()}
        assert tickets == {
            "same-code": t_code,
            "same-printed-code": PRINTED_TICKET,
            "entry-without-exit": t_noexit,
            "over-allowance": t_over,
        }
        for name, conflicts in by_gate.items():
            for conflict in conflicts.values():
                admissions = conflict["admissions"]
                assert [x["gate"] for x in admissions] == ["north", "south"], (
                    conflict["kind"],
                    admissions,
                )
                assert admissions[0]["first"] and not admissions[1]["first"]
                assert all(x["scanned_at_ms"] and x["decided_by"] == "offline" for x in admissions)
                mine = [x for x in admissions if x["mine"]]
                assert len(mine) == 1 and mine[0]["lane"] == f"{name}-in"
        assert printed not in json.dumps(by_gate)

        # Both TUIs' models, fed by each daemon's local API only.
        for box in (a, b):
            shown = tui_model(box.socket)
            assert shown.keys() == by_gate[box.name].keys()
            assert {c["kind"] for c in shown.values()} == KINDS

        # The CLI lists them (a manager of the venue).
        manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
        listed = run_cli(
            tmp_path, server.url, manager, "conflicts", "list", "--event", venue.event, "--json"
        )
        assert listed.returncode == 1, listed.stderr  # 1: conflicts found
        assert {c["id"] for c in json.loads(listed.stdout)["conflicts"]} == by_gate["a"].keys()

        # The supervisor at A acknowledges one; A restarts while the backend is down.
        acked_id = next(c["id"] for c in by_gate["a"].values() if c["kind"] == "same-code")
        transport = httpx.HTTPTransport(uds=str(a.socket))
        with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as local:
            acked = local.post(f"/conflicts/{acked_id}/ack", json={"by": "tui:anna"}).json()
        assert acked["acknowledged"] and acked["acked_by"] == "tui:anna"
        alerts_before = {x["id"] for x in api(a.socket, "/alerts")["alerts"]}
        assert server.stop() == 0
        a.stop()
        a.start()
        kept = {c["id"]: c for c in a.conflicts()}
        assert kept.keys() == by_gate["a"].keys()
        assert kept[acked_id]["acked_by"] == "tui:anna" and kept[acked_id]["acked_at_ms"]
        status = api(a.socket, "/status")
        assert status["conflicts"] == {"open": 3, "acknowledged": 1}
        transport = httpx.HTTPTransport(uds=str(a.socket))
        with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as local:
            metrics = local.get("/metrics").text
        assert 'scanctl_daemon_conflicts{state="open"} 3.0' in metrics
        conflict_alerts = [
            x for x in api(a.socket, "/alerts")["alerts"] if x["kind"] == "reconcile_conflict"
        ]
        assert conflict_alerts and conflict_alerts[0]["id"] in alerts_before  # still raised
        assert conflict_alerts[0]["active"] and not conflict_alerts[0]["acknowledged"]
        shown = tui_model(a.socket)
        assert shown[acked_id]["acknowledged"] is True
        a.stop()
        b.stop()
