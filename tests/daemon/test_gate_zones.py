"""The gate's zones, on the real daemon process: the device's registered zone counts offline,
and a gate.toml whose lanes contradict it is refused before any scanner is opened."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.daemon.gate_kit import SCANCTL, api, gate_toml, now_ms, provision, pty_pair, wait_ready
from tests.daemon.test_daemon_process import GOOD, read_exactly


def lane(path: Path, zone: str | None = None) -> str:
    zoned = "" if zone is None else f'zone = "{zone}"\n'
    return (
        f'[[scanner]]\nname = "north-1"\ndriver = "serial"\npath = "{path}"\ngate = "north"\n'
        f'feedback = "honeywell"\n{zoned}'
    )


def test_offline_a_lane_without_a_zone_guards_its_devices_zone(tmp_path: Path) -> None:
    # The policy zones gate "north" as VIP; the box at it is registered to GA, and the one
    # rule says the device's zone comes before the policy's (online decides the same way).
    gate = provision(
        tmp_path, now_ms(), zones=("GA",), device_zone="GA", policy={"gate_zones": {"north": "VIP"}}
    )
    with pty_pair(tmp_path / "north-1") as master:
        config = gate_toml(tmp_path, lane(tmp_path / "north-1"))
        with subprocess.Popen([SCANCTL, "daemon", "run", "--config", str(config)]) as daemon:
            try:
                wait_ready(tmp_path / "daemon.sock")
                os.write(master, gate.token(gate.tickets[0], now_ms()).encode() + b"\r")
                assert read_exactly(master, 3) == GOOD
                scans = api(tmp_path / "daemon.sock", "/scans?limit=1")["scans"]
                assert scans[0]["reason"] == "ADMITTED"
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=20) == 0


@pytest.mark.parametrize("where", ["manifest", "device.json"])
def test_a_lane_that_contradicts_the_devices_zone_fails_fast_with_exit_2(
    tmp_path: Path, where: str
) -> None:
    zone = {"device_zone" if where == "manifest" else "registered_zone": "GA"}
    provision(tmp_path, now_ms(), zones=("GA", "VIP"), **zone)
    with pty_pair(tmp_path / "north-1"):
        config = gate_toml(tmp_path, lane(tmp_path / "north-1", "VIP"))
        started = time.monotonic()
        result = subprocess.run(
            [SCANCTL, "daemon", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        took = time.monotonic() - started
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert (
            "scanner 'north-1': the lane's zone 'VIP' contradicts the device's registered zone 'GA'"
        ) in result.stderr
        assert "Traceback" not in result.stderr
        assert took < 10
        assert not (tmp_path / "daemon.sock").exists()  # nothing was served
