"""sd_notify: READY after start, WATCHDOG while alive, STOPPING on SIGTERM; deploy files."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from scanctl.daemon.config import load_settings
from scanctl.daemon.systemd import Notifier
from tests.daemon.gate_kit import SCANCTL, gate_toml, provision

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def receive_until(sock: socket.socket, wanted: str, timeout: float = 15.0) -> list[str]:
    messages: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if any(wanted in message for message in messages):
            return messages
    raise AssertionError(f"no {wanted!r} among {messages}")


def test_outside_systemd_notifying_does_nothing() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert notifier.watchdog_interval_s is None


def test_abstract_socket_names_are_understood() -> None:
    name = f"scanctl-test-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        assert Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000"}).watchdog()
        assert listener.recv(100) == b"WATCHDOG=1"
    assert (
        Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "4000000"}).watchdog_interval_s == 2
    )


def test_the_daemon_speaks_sd_notify(tmp_path: Path) -> None:
    provision(tmp_path, time.time_ns() // 1_000_000)
    config = gate_toml(
        tmp_path, '[[scanner]]\nname = "s"\ndriver = "simulated"\ngate = "g"\nrate_per_s = 5\n'
    )
    notify_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(notify_path))
        env = {"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "200000", "PATH": "/usr/bin"}
        command = [str(SCANCTL), "daemon", "run", "--config", str(config)]
        with subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) as process:
            ready = receive_until(listener, "READY=1")
            assert any(f"MAINPID={process.pid}" in message for message in ready)
            receive_until(listener, "WATCHDOG=1")
            process.send_signal(signal.SIGTERM)
            receive_until(listener, "STOPPING=1")
            assert process.wait(timeout=15) == 0


def test_the_example_gate_config_is_valid() -> None:
    settings = load_settings(DEPLOY / "gate.example.toml")
    names = [s.name for s in settings.scanner]
    assert names == ["north-1", "north-2", "north-3", "south-exit"]
    assert settings.scanner[2].feedback == "zebra-ssi"


def test_the_unit_is_a_notify_service_that_drains_on_sigterm() -> None:
    unit = (DEPLOY / "scanctl-daemon.service").read_text()
    for line in ("Type=notify", "KillSignal=SIGTERM", "WatchdogSec=", "daemon run --config"):
        assert line in unit
