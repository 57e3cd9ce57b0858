"""The real daemon process: pty scanner in, feedback out, journal on disk, clean SIGTERM."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.daemon.journal import Journal
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

GOOD, BAD = b"\x1b7,", b"\x1b8,"


def read_exactly(fd: int, size: int, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"feedback did not arrive (got {data!r})"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            data += os.read(fd, size - len(data))
    return data


@pytest.fixture
def running_gate(tmp_path: Path) -> Iterator[tuple[Gate, int, subprocess.Popen[bytes], Path]]:
    gate = provision(tmp_path, now_ms(), refunded=("fffffff0",))
    with pty_pair(tmp_path / "scanner-north") as master:
        config = gate_toml(
            tmp_path,
            f"""[[scanner]]
name = "north-1"
driver = "serial"
path = "{tmp_path / "scanner-north"}"
gate = "north"
feedback = "honeywell"
""",
        )
        with subprocess.Popen(
            [str(SCANCTL), "daemon", "run", "--config", str(config)], stderr=subprocess.PIPE
        ) as process:
            socket = tmp_path / "daemon.sock"
            try:
                wait_ready(socket)
                assert api(socket, "/status")["state"] == "running"
                yield gate, master, process, socket
            finally:
                if process.poll() is None:
                    process.kill()


def test_scans_are_decided_journaled_and_answered(
    running_gate: tuple[Gate, int, subprocess.Popen[bytes], Path],
) -> None:
    gate, master, process, socket = running_gate
    replayed = gate.token(gate.tickets[1], now_ms())
    reads = [
        (gate.token(gate.tickets[0], now_ms()), GOOD, "ADMITTED"),
        (replayed, GOOD, "ADMITTED"),
        (replayed, BAD, "QR_ALREADY_USED"),
        (gate.token(gate.tickets[0], now_ms()), BAD, "ALREADY_SCANNED"),
        ("0a1b2c3d:1764320000000:0011223344556677:" + "ab" * 32, BAD, "INVALID"),
        (gate.token("fffffff0", now_ms()), BAD, "TICKET_REFUNDED"),
    ]
    for payload, expected_feedback, _ in reads:
        os.write(master, b"]Q1" + payload.encode() + b"\r")
        assert read_exactly(master, len(expected_feedback)) == expected_feedback
    scans = api(socket, "/scans?limit=10")["scans"]
    assert [scan["reason"] for scan in reversed(scans)] == [reason for *_, reason in reads]
    (north,) = api(socket, "/gates")["gates"]
    assert (north["admitted"], north["denied"]) == (2, 4)
    assert north["per_minute_now"] == 6

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    journal = Journal(gate.data_dir / "gate.db")
    try:
        assert journal.integrity_ok()
        assert journal.count() == len(reads)
    finally:
        journal.close()
    assert not socket.exists()

    # A restarted daemon carries on counting from its journal.
    config = gate.data_dir / "gate.toml"
    with subprocess.Popen([str(SCANCTL), "daemon", "run", "--config", str(config)]) as again:
        try:
            wait_ready(socket)
            (north,) = api(socket, "/gates")["gates"]
            assert (north["admitted"], north["denied"]) == (2, 4)
            assert north["reasons"]["QR_ALREADY_USED"] == 1
        finally:
            again.send_signal(signal.SIGTERM)
            assert again.wait(timeout=15) == 0


def test_a_paused_gate_refuses_reads_without_deciding(
    running_gate: tuple[Gate, int, subprocess.Popen[bytes], Path],
) -> None:
    gate, master, _, socket = running_gate
    assert api(socket, "/gates/north/pause", "POST") == {"gate": "north", "paused": True}
    os.write(master, gate.token(gate.tickets[0], now_ms()).encode() + b"\r")
    assert read_exactly(master, 3) == BAD
    assert api(socket, "/gates")["gates"][0]["paused"] is True
    api(socket, "/gates/north/resume", "POST")
    os.write(master, gate.token(gate.tickets[0], now_ms()).encode() + b"\r")
    assert read_exactly(master, 3) == GOOD
    assert api(socket, "/status")["journal"]["scans"] == 1


def test_a_bad_config_exits_2_naming_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('event_id = ""\ndata_dir = "/nonexistent"\n')
    result = subprocess.run(
        [str(SCANCTL), "daemon", "run", "--config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "event_id" in result.stderr
    assert "scanner" in result.stderr


def test_without_a_manifest_the_daemon_says_what_to_do(tmp_path: Path) -> None:
    provision(tmp_path / "other", now_ms()).identity.save(tmp_path)
    config = gate_toml(
        tmp_path, '[[scanner]]\nname = "s"\ndriver = "serial"\npath = "/dev/null"\ngate = "g"\n'
    )
    result = subprocess.run(
        [str(SCANCTL), "daemon", "run", "--config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "scanctl manifest pull" in result.stderr


def test_a_replayed_screenshot_raises_one_alert_that_can_be_acknowledged(
    running_gate: tuple[Gate, int, subprocess.Popen[bytes], Path],
) -> None:
    gate, master, _, socket = running_gate
    screenshot = gate.token(gate.tickets[2], now_ms())
    for expected in (GOOD, BAD, BAD, BAD, BAD):
        os.write(master, screenshot.encode() + b"\r")
        assert read_exactly(master, 3) == expected
    (alert,) = api(socket, "/alerts")["alerts"]
    assert (alert["kind"], alert["gate"], alert["active"]) == ("replay_burst", "north", True)
    assert api(socket, f"/alerts/{alert['id']}/ack", "POST")["acknowledged"] is True
    assert api(socket, "/alerts")["alerts"][0]["acknowledged"] is True


def test_simulated_scanners_drive_the_gates_and_every_decision_is_journaled(
    tmp_path: Path,
) -> None:
    provision(tmp_path, now_ms(), tickets=2_000, refunded=("fffffff0", "fffffff1"))
    lanes = "".join(
        f'[[scanner]]\nname = "{name}"\ndriver = "simulated"\ngate = "{gate}"\n'
        f'direction = "{direction}"\nrate_per_s = 60\nseed = {seed}\n\n'
        for seed, (name, gate, direction) in enumerate(
            [
                ("north-1", "north", "entry"),
                ("north-2", "north", "entry"),
                ("exit-1", "south", "exit"),
            ]
        )
    )
    config = gate_toml(tmp_path, lanes)
    socket = tmp_path / "daemon.sock"
    command = [str(SCANCTL), "daemon", "run", "--config", str(config)]
    with subprocess.Popen(command, stderr=subprocess.PIPE) as process:
        try:
            wait_ready(socket)
            gates = wait_for(
                lambda: (
                    all(g["admitted"] + g["denied"] >= 20 for g in api(socket, "/gates")["gates"])
                    and api(socket, "/gates")["gates"]
                ),
                "decisions at every gate",
            )
            assert {g["gate"] for g in gates} == {"north", "south"}
            north = next(g for g in gates if g["gate"] == "north")
            assert north["reasons"].get("ADMITTED", 0) > 0
            assert all(s["connected"] for g in gates for s in g["scanners"])
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
    journal = Journal(tmp_path / "gate.db")
    try:
        scans = journal.recent(100_000)
        # Everything the gates had counted (and answered) before SIGTERM is on disk.
        assert len(scans) >= sum(g["admitted"] + g["denied"] for g in gates)
        exit_reasons = {scan["reason"] for scan in scans if scan["gate"] == "south"}
        assert "EXITED" in exit_reasons
        assert not exit_reasons & {"ADMITTED", "RE_ENTRY_ADMITTED", "ALREADY_SCANNED"}
    finally:
        journal.close()
