"""A gate's data at rest: an edited manifest.db is refused by `manifest verify` and the
daemon, a data directory others can write is refused, and a keyring that cannot keep
the keys refuses the registration before the backend hears of it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import SCANCTL, ServerProcess
from tests.backend.offline_kit import make_venue
from tests.backend.test_offline_cli import cli_env, scanctl


def _registered_gate(
    server: ServerProcess, tmp_path: Path, name: str
) -> tuple[dict[str, str], Path, str]:
    now = datetime.now(UTC)
    venue = make_venue(
        server,
        name,
        tickets=4,
        starts=(now - timedelta(hours=1)).isoformat(),
        ends=(now + timedelta(hours=5)).isoformat(),
    )
    env = cli_env(tmp_path, server, server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue))
    data = tmp_path / "gate"
    registered = scanctl(
        env, "device", "register", "--name", "g", "--venue", venue.venue, "--offline",
        "--data-dir", str(data), "--key-store", "file",
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    pulled = scanctl(env, "manifest", "pull", venue.event, "--data-dir", str(data))
    assert pulled.returncode == 0, pulled.stderr
    return env, data, venue.event


def _daemon(
    env: dict[str, str], tmp_path: Path, data: Path, event: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gate.toml"
    config.write_text(
        f'event_id = "{event}"\ndata_dir = "{data}"\nmode = "offline-only"\n'
        f'socket = "{tmp_path / "d.sock"}"\n\n'
        '[[scanner]]\nname = "s"\ndriver = "stdin"\ngate = "north"\n'
    )
    return subprocess.run(
        [SCANCTL, "daemon", "run", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_an_edited_manifest_is_refused_until_a_full_pull(
    server: ServerProcess, tmp_path: Path
) -> None:
    env, data, event = _registered_gate(server, tmp_path, "at-rest-edit")
    with sqlite3.connect(data / "manifest.db") as conn:
        conn.execute("UPDATE manifest_entries SET valid_until_ms = 253402300799000")
        conn.execute(
            "INSERT INTO manifest_entries VALUES ('deadbeef','ACTIVE','[]',NULL,NULL,NULL,0,NULL)"
        )
    conn.close()

    verified = scanctl(env, "manifest", "verify", "--data-dir", str(data), "--json")
    assert verified.returncode == 1
    report = json.loads(verified.stdout)
    assert report["ok"] is False and "changed on disk" in report["problems"][0]

    daemon = _daemon(env, tmp_path, data, event)
    assert daemon.returncode == 2, daemon.stderr
    assert "changed on disk" in daemon.stderr and "Traceback" not in daemon.stderr

    delta = scanctl(env, "manifest", "pull", event, "--data-dir", str(data))
    assert delta.returncode == 1 and "--full" in delta.stderr
    full = scanctl(env, "manifest", "pull", event, "--full", "--data-dir", str(data), "--json")
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["tickets"] == 4
    assert scanctl(env, "manifest", "verify", "--data-dir", str(data)).returncode == 0


def test_a_data_directory_others_can_write_is_refused(
    server: ServerProcess, tmp_path: Path
) -> None:
    env, data, event = _registered_gate(server, tmp_path, "at-rest-mode")
    data.chmod(0o777)
    verified = scanctl(env, "manifest", "verify", "--data-dir", str(data))
    assert verified.returncode == 2
    assert "writable by others" in verified.stderr and "chmod go-w" in verified.stderr
    daemon = _daemon(env, tmp_path, data, event)
    assert daemon.returncode == 2 and "writable by others" in daemon.stderr
    data.chmod(0o700)
    (data / "manifest.db").chmod(0o666)
    verified = scanctl(env, "manifest", "verify", "--data-dir", str(data))
    assert verified.returncode == 2 and "manifest.db: writable by others" in verified.stderr
    (data / "manifest.db").chmod(0o600)
    assert scanctl(env, "manifest", "verify", "--data-dir", str(data)).returncode == 0


def test_a_keyring_that_cannot_keep_the_keys_registers_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    venue = make_venue(server, "at-rest-keyring", tickets=1)
    env = cli_env(tmp_path, server, server.token(Role.VENUE_MANAGER, venue.tenant, venue.venue))
    data = tmp_path / "gate"
    result = scanctl(
        env, "device", "register", "--name", "k", "--venue", venue.venue,
        "--data-dir", str(data), "--key-store", "keyring",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "nothing was registered" in result.stderr
    listed = scanctl(env, "device", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_damaged_files_are_one_line_errors(server: ServerProcess, tmp_path: Path) -> None:
    env, data, event = _registered_gate(server, tmp_path, "at-rest-garbage")
    (data / "gate.db").write_bytes(b"not a journal at all " * 300)
    for args in (("reconcile", "status"), ("reconcile", "push")):
        result = scanctl(env, *args, "--data-dir", str(data))
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.startswith("Error:"), args
        assert "gate.db" in result.stderr
    daemon = _daemon(env, tmp_path, data, event)
    assert daemon.returncode == 2 and "cannot open the journal" in daemon.stderr
    assert "Traceback" not in daemon.stderr
    (data / "manifest.db").write_bytes(b"\x00garbage" * 500)
    for args in (("manifest", "show"), ("manifest", "verify")):
        result = scanctl(env, *args, "--data-dir", str(data))
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr and "manifest.db" in result.stderr, args
