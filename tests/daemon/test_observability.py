"""The real daemon's log lines, metrics (socket and TCP) and file modes, read as venue IT would."""

from __future__ import annotations

import json
import os
import signal
import socket as socket_module
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scanctl.daemon.metrics import DaemonMetrics, GateCollector
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

FORGED = "0a1b2c3d:1764320000000:0011223344556677:" + "ab" * 32  # an unknown ticket


def free_port() -> int:
    with socket_module.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def samples(text: str) -> dict[str, list[Any]]:
    """Every sample of an exposition, by sample name (the parser refuses a bad scrape)."""
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


@pytest.fixture
def gate_run(tmp_path: Path) -> Iterator[tuple[Gate, int, subprocess.Popen[str], int]]:
    os.umask(0o022)  # what a service manager gives: files would be 0644 by default
    gate = provision(tmp_path, now_ms(), printed=1)
    port = free_port()
    with pty_pair(tmp_path / "scanner-north") as master:
        config = gate_toml(
            tmp_path,
            f"""[[scanner]]
name = "north-1"
driver = "serial"
path = "{tmp_path / "scanner-north"}"
gate = "north"
""",
            settings=f'mode = "offline-only"\nlog_format = "json"\n'
            f'metrics_listen = "127.0.0.1:{port}"',
        )
        command = [str(SCANCTL), "daemon", "run", "-v", "--config", str(config)]
        with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
            try:
                wait_ready(tmp_path / "daemon.sock")
                yield gate, master, process, port
            finally:
                if process.poll() is None:
                    process.kill()


def test_logs_metrics_and_files_of_a_running_gate(
    gate_run: tuple[Gate, int, subprocess.Popen[str], int],
) -> None:
    gate, master, process, port = gate_run
    socket = gate.data_dir / "daemon.sock"
    assert gate.printed is not None
    (printed_code,) = gate.printed
    reads = [gate.token(gate.tickets[0], now_ms()), printed_code, *[FORGED] * 5]
    for payload in reads:
        os.write(master, payload.encode() + b"\r")
    wait_for(lambda: api(socket, "/status")["journal"]["scans"] == len(reads), "7 decisions")
    wait_for(lambda: api(socket, "/alerts")["alerts"], "the forgery burst alert")

    # Metrics: the same registry on the socket and on TCP, parsed by prometheus_client.
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, base_url="http://daemon") as client:
        on_socket = samples(client.get("/metrics").text)
    over_tcp = samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
    assert on_socket.keys() == over_tcp.keys()
    decisions = {
        s.labels["reason"]: s.value
        for s in on_socket["scanctl_daemon_decisions_total"]
        if s.labels["gate"] == "north"
    }
    assert decisions == {"ADMITTED": 2, "INVALID": 5}
    (count,) = on_socket["scanctl_daemon_decision_latency_seconds_count"]
    assert (count.labels, count.value) == ({"gate": "north"}, 7)
    assert on_socket["scanctl_daemon_journal_commit_seconds_count"][0].value == 7
    (by,) = on_socket["scanctl_daemon_decided_by_total"]
    assert (by.labels["decided_by"], by.value) == ("offline", 7)
    assert on_socket["scanctl_daemon_manifest_valid"][0].value == 1
    assert 0 <= on_socket["scanctl_daemon_manifest_age_seconds"][0].value < 120
    assert on_socket["scanctl_daemon_manifest_valid_seconds"][0].value > 3 * 3600
    assert on_socket["scanctl_daemon_scanner_connected"][0].value == 1
    assert on_socket["scanctl_daemon_backend_configured"][0].value == 0
    assert {s.labels["state"] for s in on_socket["scanctl_daemon_outbox_scans"]} == {"pending"}
    assert on_socket["scanctl_daemon_outbox_depth"][0].value == 7
    frames = {
        s.labels["counter"]: s.value for s in on_socket["scanctl_daemon_scanner_events_total"]
    }
    assert frames["frames_ok"] == 7
    alerts = {s.labels["kind"]: s.value for s in on_socket["scanctl_daemon_alerts_active"]}
    assert alerts["forgery_burst"] == 1
    assert "process_resident_memory_bytes" in on_socket

    # Files with scans, keys and tickets are the owner's alone; a printed code is a hash.
    for name in ("gate.db", "manifest.db", "device.json"):
        path = gate.data_dir / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    with sqlite3.connect(gate.data_dir / "gate.db") as db:
        raws = [bytes(raw) for (raw,) in db.execute("SELECT raw FROM scans ORDER BY seq")]
    assert printed_code.encode() not in raws
    assert raws[1].startswith(b"sha256:")

    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 0
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    for line in lines:
        assert {"ts", "level", "logger", "msg"} <= line.keys()
    (banner,) = [line for line in lines if line["msg"].startswith("daemon running")]
    assert banner["version"] and banner["event_id"] == gate.event.event_id
    made = [line for line in lines if line["msg"].startswith("decision ")]
    assert [line["reason"] for line in made] == ["ADMITTED", "ADMITTED"] + ["INVALID"] * 5
    assert {"scan_id", "gate", "scanner", "allowed", "latency_ms"} <= made[0].keys()
    causes = [line for line in lines if " INVALID: " in line["msg"]]
    assert len(causes) == 5 and all("unknown ticket" in line["msg"] for line in causes)
    (alert,) = [line for line in lines if line["msg"].startswith("alert: ")]
    assert (alert["level"], alert["kind"]) == ("critical", "forgery_burst")
    assert FORGED not in err and printed_code not in err
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]


class _HostileLane:
    scanner, connected = "north-1", True
    gate = 'a "quoted"\\gate\nname'

    def reasons(self) -> dict[str, int]:
        return {"ADMITTED": 3}

    def decided_by(self) -> dict[str, int]:
        return {"offline": 3}

    def bad_reads(self) -> dict[str, int]:
        return {}

    def driver_counters(self) -> dict[str, int]:
        return {"frames_ok": 3}


class _HostileGate:
    def metric_lanes(self) -> list[_HostileLane]:
        return [_HostileLane()]

    def outbox_states(self) -> dict[str, int]:
        return {"pending": 1, 'con"flict\\': 2}

    def manifest_facts(self, now_ms: int) -> dict[str, Any]:
        return {"held": False}

    def link_facts(self) -> dict[str, Any]:
        return {"online": True, "circuit": 'cl"osed\\', "last_contact_ms": now_ms()}

    def conflict_counts(self) -> dict[str, int]:
        return {"open": 0}

    def active_alerts(self) -> dict[str, int]:
        return {}

    def uptime_s(self) -> float:
        return 1.0


def test_hostile_label_values_are_escaped_by_the_library() -> None:
    metrics = DaemonMetrics()
    metrics.add(GateCollector(_HostileGate(), now_ms))
    metrics.lane_recorder(_HostileLane.gate).observe(0.0, 0.0, 0.0)
    found = samples(metrics.render().decode())
    (decided,) = found["scanctl_daemon_decisions_total"]
    assert decided.labels["gate"] == _HostileLane.gate
    assert found["scanctl_daemon_decision_latency_seconds_count"][0].labels["gate"] == (
        _HostileLane.gate
    )
    states = {s.labels["state"] for s in found["scanctl_daemon_outbox_scans"]}
    assert states == {"pending", 'con"flict\\'}


def test_a_metrics_port_in_use_stops_the_daemon_at_start_with_one_line(tmp_path: Path) -> None:
    provision(tmp_path, now_ms())
    with socket_module.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = gate_toml(
            tmp_path,
            '[[scanner]]\nname = "n1"\ndriver = "stdin"\ngate = "north"\n',
            settings=f'metrics_listen = "127.0.0.1:{port}"',
        )
        result = subprocess.run(
            [str(SCANCTL), "daemon", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 2
    assert f"metrics_listen 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
