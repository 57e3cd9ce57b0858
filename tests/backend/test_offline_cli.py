"""End to end as venue IT does it: `scanctl device register` → `manifest pull` → the real
daemon scanning offline from a pty → `scanctl reconcile push` → the backend has every scan once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scanctl.backend.auth.principal import Role
from scanctl.core import derive_event_key, mint_token, new_nonce
from scanctl.daemon.identity import DeviceIdentity
from scanctl.manifests import ManifestStore
from tests.backend.helpers import SCANCTL, ServerProcess, new_id
from tests.backend.offline_kit import make_venue, offline_scan, push, register_gate
from tests.daemon.gate_kit import pty_pair, wait_ready
from tests.daemon.test_daemon_process import BAD, GOOD, api, read_exactly


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def cli_env(tmp_path: Path, server: ServerProcess, token: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "SCANCTL_URL": server.url,
        "SCANCTL_TOKEN": token,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "COLUMNS": "200",
    }


def scanctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCANCTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def backend_scans(server: ServerProcess, event: str) -> list[tuple[Any, ...]]:
    path = Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT id, device_id, ticket_id, reason, allowed, decided_by FROM scans"
            " WHERE event_id = ?",
            (event,),
        ).fetchall()


def test_register_pull_scan_offline_push(server: ServerProcess, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    venue = make_venue(
        server,
        "offline-cli",
        tickets=10,
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),
    )
    manager = server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue)
    env = cli_env(tmp_path, server, manager)
    data = tmp_path / "gate"

    registered = scanctl(
        env, "device", "register", "--name", "north gate", "--venue", venue.venue,
        "--offline", "--data-dir", str(data), "--json",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    device = json.loads(registered.stdout)
    assert device["keys"] == "file"  # no keyring here: the 0600 file, with one warning line
    assert registered.stderr.count("\n") == 1 and "Warning:" in registered.stderr
    assert (data / "device.json").stat().st_mode & 0o777 == 0o600
    again = scanctl(env, "device", "register", "--name", "x", "--venue", venue.venue,
                    "--data-dir", str(data))  # fmt: skip
    assert again.returncode == 2 and again.stderr.startswith("Error:")

    pulled = scanctl(env, "manifest", "pull", venue.event, "--data-dir", str(data), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["tickets"] == 10
    shown = json.loads(scanctl(env, "manifest", "show", "--data-dir", str(data), "--json").stdout)
    assert shown["byStatus"]["ACTIVE"] == 10 and not shown["stale"]
    assert shown["validUntil"].endswith("Z") and shown["issuedAt"].endswith("Z")
    assert shown["eventId"] == venue.event and "event_id" not in shown
    assert scanctl(env, "manifest", "verify", "--data-dir", str(data)).returncode == 0
    delta = scanctl(env, "manifest", "pull", venue.event, "--data-dir", str(data), "--json")
    assert json.loads(delta.stdout)["delta"] is True

    # The gate scans offline: the real daemon, a pty scanner, no backend configured.
    event_key = derive_event_key(server.env["HMAC_SECRET"], venue.tenant, venue.event)
    with pty_pair(tmp_path / "scanner") as master:
        config = tmp_path / "gate.toml"
        config.write_text(
            f'event_id = "{venue.event}"\ndata_dir = "{data}"\nmode = "offline-only"\n'
            f'socket = "{tmp_path / "d.sock"}"\n\n'
            f'[[scanner]]\nname = "north-1"\ndriver = "serial"\npath = "{tmp_path / "scanner"}"\n'
            'gate = "north"\nfeedback = "honeywell"\n'
        )
        with subprocess.Popen(
            [SCANCTL, "daemon", "run", "--config", str(config)],
            env=env,
            stderr=subprocess.PIPE,
        ) as daemon:
            try:
                wait_ready(tmp_path / "d.sock")
                reads = [
                    (mint_token(event_key, venue.ticket_ids[0], now_ms(), new_nonce()), GOOD),
                    (mint_token(event_key, venue.ticket_ids[1], now_ms(), new_nonce()), GOOD),
                    (mint_token(event_key, venue.ticket_ids[0], now_ms(), new_nonce()), BAD),
                    ("0a1b2c3d:1764320000000:0011223344556677:" + "ab" * 32, BAD),
                ]
                for payload, feedback in reads:
                    os.write(master, b"]Q1" + payload.encode() + b"\r")
                    assert read_exactly(master, len(feedback)) == feedback
                assert api(tmp_path / "d.sock", "/status")["state"] == "running"
                status = scanctl(env, "daemon", "status", "--config", str(config), "--json")
                assert status.returncode == 0, status.stderr
                report = json.loads(status.stdout)  # the CLI's contract, not the local API's
                assert report["eventId"] == venue.event and "event_id" not in report
                assert report["startedAt"].endswith("Z")
                assert report["manifest"]["byStatus"]["ACTIVE"] == 10
                assert {"gate", "perMinuteNow"} <= set(report["gates"][0])
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=15) == 0

    pending = json.loads(
        scanctl(env, "reconcile", "status", "--config", str(config), "--json").stdout
    )
    assert pending["pending"] == len(reads)

    # Meanwhile another gate admitted ticket 1 offline and pushed first.
    other = register_gate(server, venue)
    push(server, other, [offline_scan(venue.ticket_ids[1], at_ms=now_ms() - 1000, gate="south")])

    pushed = scanctl(env, "reconcile", "push", "--config", str(config), "--json")
    assert pushed.returncode == 1, pushed.stderr  # conflicts exit 1
    report = json.loads(pushed.stdout)
    assert report["summary"] == {"accepted": 3, "duplicate": 0, "conflict": 1, "rejected": 0}
    (conflict,) = report["conflicts"]
    assert conflict["ticketId"] == venue.ticket_ids[1]
    assert conflict["otherDevice"] == other.device_id
    assert conflict["otherGate"] == "south"

    stored = [row for row in backend_scans(server, venue.event) if row[1] == device["deviceId"]]
    assert len(stored) == len(reads) == len({row[0] for row in stored})
    assert {row[5] for row in stored} == {"offline"}
    assert sorted(row[3] for row in stored) == sorted(
        ["ADMITTED", "ADMITTED", "ALREADY_SCANNED", "INVALID"]
    )
    again = scanctl(env, "reconcile", "push", "--config", str(config), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["pushed"] == 0
    status = json.loads(
        scanctl(env, "reconcile", "status", "--config", str(config), "--json").stdout
    )
    assert status["pending"] == 0 and len(status["conflicts"]) == 1


def test_cli_errors_are_one_line_with_exit_codes(server: ServerProcess, tmp_path: Path) -> None:
    env = cli_env(tmp_path, server, server.token(Role.VENUE_STAFF, "t-cli", new_id()))
    down = {**env, "SCANCTL_URL": "http://127.0.0.1:9"}
    venue = new_id()
    result = scanctl(down, "device", "register", "--name", "g", "--venue", venue,
                     "--data-dir", str(tmp_path / "a"))  # fmt: skip
    assert result.returncode == 3, result.stderr
    result = scanctl(env, "device", "register", "--name", "g", "--venue", venue,
                     "--data-dir", str(tmp_path / "b"))  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    result = scanctl(env, "manifest", "pull", new_id(), "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 2 and result.stderr.startswith("Error:")
    result = scanctl(env, "manifest", "verify", "--data-dir", str(tmp_path / "none"))
    assert result.returncode == 2


def test_with_a_keyring_the_private_keys_never_touch_the_disk(
    server: ServerProcess, tmp_path: Path
) -> None:
    venue = make_venue(server, "offline-keyring", tickets=3)
    env = cli_env(tmp_path, server, server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue))
    env.update(
        PYTHON_KEYRING_BACKEND="tests.cli.file_keyring.JsonFileKeyring",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        SCANCTL_TEST_KEYRING=str(tmp_path / "keyring.json"),
    )
    data = tmp_path / "gate"
    registered = scanctl(
        env, "device", "register", "--name", "g", "--venue", venue.venue, "--offline",
        "--data-dir", str(data), "--json",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["keys"] == "keyring"
    assert "Warning" not in registered.stderr
    document = json.loads((data / "device.json").read_text())
    assert document["keys"] == "keyring"
    held = json.loads((tmp_path / "keyring.json").read_text())
    assert list(held) == [f"scanctl-device/{document['device_id']}"]
    # Whoever loads the identity (the daemon, `manifest pull`) finds the keys there.
    pulled = scanctl(env, "manifest", "pull", venue.event, "--data-dir", str(data), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["tickets"] == 3


def test_a_device_registered_to_a_zone_keeps_it_and_its_manifest_names_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    venue = make_venue(server, "offline-zone", tickets=2)
    env = cli_env(tmp_path, server, server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue))
    data = tmp_path / "gate"
    registered = scanctl(
        env, "device", "register", "--name", "ga", "--venue", venue.venue, "--offline",
        "--zone", "GA", "--data-dir", str(data), "--key-store", "file",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    assert DeviceIdentity.load(data).zone == "GA"
    pulled = scanctl(env, "manifest", "pull", venue.event, "--data-dir", str(data))
    assert pulled.returncode == 0, pulled.stderr
    with ManifestStore(data / "manifest.db") as store:
        assert store.header is not None and store.header.device_zone == "GA"
