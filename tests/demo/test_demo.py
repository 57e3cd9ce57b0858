"""`scanctl demo`: the whole system comes up, runs, adds up, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.daemon.gate_kit import SCANCTL


def scanctl_processes() -> set[int]:
    """Pids of running scanctl children (backend, daemon) started from this checkout."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"scanctl.cli" in command and (b"server" in command or b"daemon" in command):
            pids.add(int(entry.name))
    return pids


@pytest.mark.slow
def test_headless_demo_runs_adds_up_and_cleans_up(tmp_path: Path) -> None:
    before = scanctl_processes()
    # The caller's services are not the demo's: these must be ignored, not written to.
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/not-the-demo",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "TICKET_SERVICE_URL": "http://127.0.0.1:1/tickets",
        "SCANCTL_DATA_DIR": str(tmp_path / "not-the-demo"),
    }
    result = subprocess.run(
        [str(SCANCTL), "demo", "--headless", "--duration", "10", "--tickets", "2000", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    gates = {gate["gate"]: gate for gate in summary["gates"]}
    assert set(gates) == {"north", "south", "exit"}
    assert summary["admitted"] == sum(gate["admitted"] for gate in gates.values())
    assert summary["denied"] == sum(gate["denied"] for gate in gates.values())
    assert summary["admitted"] > 0
    for gate in gates.values():
        assert sum(gate["reasons"].values()) == gate["admitted"] + gate["denied"]
    assert set(gates["exit"]["reasons"]) <= {"EXITED", "INVALID", "QR_ALREADY_USED", "QR_EXPIRED"}
    # The exit lane lets out people who came in: each exit is one fewer inside.
    assert summary["exited"] > 0
    assert summary["entered"] == summary["admitted"] - summary["exited"]
    assert summary["inside"] == summary["ticketsIn"] - summary["exited"] >= 0
    assert list(tmp_path.iterdir()) == []
    assert scanctl_processes() <= before
