"""An expired manifest at a real door: the venue's choice, the warning beep, the alerts,
and a supervisor's override applied with the CLI against the running daemon.

Real daemons (`scanctl daemon run`) with emulated Honeywell (host ACK) and Zebra (SSI)
scanners on ptys; manifests made to expire within seconds.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daemon.gate_kit import (
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
from tests.emulators import HoneywellHostAck, ZebraSsi

SSI_GOOD, SSI_BAD, SSI_WARNING = 0x00, 0x16, 0x01
MINUTE_MS = 60_000


@dataclass
class Door:
    gate: Gate
    config: Path
    socket: Path
    honeywell: HoneywellHostAck
    zebra: ZebraSsi

    def code(self, index: int) -> bytes:
        return self.gate.token(self.gate.tickets[index], now_ms()).encode()

    def scans(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = api(self.socket, "/scans?limit=100")["scans"]
        return rows

    def alert(self, kind: str, text: str = "") -> dict[str, Any]:
        """The active alert of ``kind`` (whose message holds ``text``), once raised."""

        def found() -> dict[str, Any] | None:
            alerts = api(self.socket, "/alerts")["alerts"]
            return next(
                (a for a in alerts if a["kind"] == kind and a["active"] and text in a["message"]),
                None,
            )

        wait_for(lambda: found() is not None, f"a {kind} alert saying {text!r}", 10)
        alert = found()
        assert alert is not None
        return alert

    def stale(self) -> bool:
        return bool(api(self.socket, "/status")["manifest"]["stale"])


@contextmanager
def door(
    tmp_path: Path, *, valid_for_ms: int, policy: dict[str, object] | None = None
) -> Iterator[Door]:
    gate = provision(tmp_path, now_ms(), tickets=10, policy=policy, valid_for_ms=valid_for_ms)
    with ExitStack() as stack:
        honeywell = stack.enter_context(
            HoneywellHostAck(stack.enter_context(pty_pair(tmp_path / "tty-hw")))
        )
        zebra = stack.enter_context(ZebraSsi(stack.enter_context(pty_pair(tmp_path / "tty-zebra"))))
        config = gate_toml(
            tmp_path,
            f'[[scanner]]\nname = "hw"\ndriver = "serial"\npath = "{tmp_path / "tty-hw"}"\n'
            'gate = "north"\nfeedback = "honeywell"\n\n'
            f'[[scanner]]\nname = "zebra"\ndriver = "serial"\npath = "{tmp_path / "tty-zebra"}"\n'
            'gate = "north"\nfeedback = "zebra-ssi"\n',
        )
        log = stack.enter_context((tmp_path / "daemon.log").open("wb"))
        process = subprocess.Popen(
            [str(SCANCTL), "daemon", "run", "--config", str(config)], stderr=log
        )
        socket = tmp_path / "daemon.sock"
        try:
            wait_ready(socket)
            yield Door(gate, config, socket, honeywell, zebra)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCANCTL), *args], capture_output=True, text=True, check=False, timeout=30
    )


def test_admit_with_warning_sounds_its_own_beep_and_is_journaled_with_its_warning(
    tmp_path: Path,
) -> None:
    """The venue chose admit-with-warning: once the manifest has expired, admissions go on,
    each with a feedback of its own on both scanner protocols, the warning on the scan
    the TUI and the journal show, and a critical alert saying what the gates do."""
    policy = {"stale_manifest": "admit-with-warning"}
    with door(tmp_path, valid_for_ms=2500, policy=policy) as gate:
        assert gate.honeywell.scan(b"]Q1" + gate.code(0) + b"\r") == "good"  # still valid
        wait_for(gate.stale, "the manifest to expire", 15)
        assert gate.honeywell.scan(b"]Q1" + gate.code(1) + b"\r") == "warning"
        gate.zebra.scan(gate.code(2))
        assert gate.zebra.wait_beeps(1) == [SSI_WARNING]
        gates = api(gate.socket, "/gates")["gates"]
        assert gates[0]["last"]["warning"] == "offline ticket data is out of date"  # TUI line
        gate.zebra.scan(b"not a ticket at all")
        assert gate.zebra.wait_beeps(2)[1] == SSI_BAD  # a denial is still the error tone
        rows = {row["ticket_id"]: row for row in gate.scans() if row["ticket_id"]}
        tickets = gate.gate.tickets
        assert rows[tickets[0]]["warning"] is None
        for ticket in tickets[1:3]:
            assert (rows[ticket]["reason"], rows[ticket]["warning"]) == (
                "ADMITTED",
                "offline ticket data is out of date",
            )
        stale = gate.alert("manifest_stale", "admit with a warning (the event's policy)")
        assert stale["severity"] == "critical"


def test_alerts_warn_two_hours_before_expiry_with_the_time_left(tmp_path: Path) -> None:
    with door(tmp_path, valid_for_ms=90 * MINUTE_MS) as gate:
        expiring = gate.alert("manifest_expiring")
        alerts = api(gate.socket, "/alerts")["alerts"]
        assert expiring["severity"] == "warning"
        assert (
            "expires in 89 min" in expiring["message"] or "expires in 90 min" in expiring["message"]
        )
        assert "deny every ticket" in expiring["message"]
        assert not [a for a in alerts if a["kind"] == "manifest_stale"]


def test_a_supervisor_overrides_the_deny_with_the_cli_and_it_is_journaled(tmp_path: Path) -> None:
    """Default policy: an expired manifest denies (MANIFEST_STALE, the bad beep). A
    supervisor's override through the CLI makes the running daemon admit with a warning
    from the next read; `daemon status` shows it; the journal keeps who, when and what."""
    with door(tmp_path, valid_for_ms=2500) as gate:
        wait_for(gate.stale, "the manifest to expire", 15)
        assert gate.honeywell.scan(b"]Q1" + gate.code(0) + b"\r") == "bad"
        assert gate.scans()[0]["reason"] == "MANIFEST_STALE"

        refused = cli("daemon", "override", "admit-with-warning", "--by", "sam",
                      "--until", "2000-01-01T00:00", "--config", str(gate.config))  # fmt: skip
        assert refused.returncode == 2, refused.stderr
        assert "end in the future" in refused.stderr

        applied = cli("daemon", "override", "admit-with-warning", "--by", "Sam Door",
                      "--for", "30", "--note", "backend down, queue outside",
                      "--config", str(gate.config), "--json")  # fmt: skip
        assert applied.returncode == 0, applied.stderr
        override = json.loads(applied.stdout)
        assert (override["action"], override["by"], override["in_force"]) == (
            "admit-with-warning",
            "Sam Door",
            True,
        )
        assert abs(override["until_ms"] - (override["at_ms"] + 30 * MINUTE_MS)) < 5000

        assert gate.honeywell.scan(b"]Q1" + gate.code(0) + b"\r") == "warning"
        latest = gate.scans()[0]
        assert latest["reason"] == "ADMITTED"
        assert (
            latest["warning"]
            == "offline ticket data is out of date; admitted on Sam Door's override"
        )

        status = cli("daemon", "status", "--config", str(gate.config))
        assert status.returncode == 0, status.stderr
        assert "override: on an expired manifest gates admit-with-warning until" in status.stdout
        assert "by Sam Door" in status.stdout
        gate.alert("manifest_stale", "Sam Door's override")

        ended = cli("daemon", "override", "clear", "--by", "Sam Door", "--config", str(gate.config))
        assert ended.returncode == 0, ended.stderr
        assert gate.honeywell.scan(b"]Q1" + gate.code(1) + b"\r") == "bad"
        listed = cli("daemon", "override", "list", "--config", str(gate.config), "--json")
        assert [o["action"] for o in json.loads(listed.stdout)["overrides"]] == [
            None,
            "admit-with-warning",
        ]
    with sqlite3.connect(tmp_path / "gate.db") as conn:
        journaled = conn.execute(
            "SELECT action, by, note, sent_at_ms FROM overrides ORDER BY at_ms"
        ).fetchall()
    assert journaled == [
        ("admit-with-warning", "Sam Door", "backend down, queue outside", None),
        (None, "Sam Door", "", None),
    ]
