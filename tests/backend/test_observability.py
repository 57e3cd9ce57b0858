"""The real backend's log lines, request ids, metrics and file modes, read as venue IT would."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scanctl.backend.auth.principal import Role
from scanctl.core import static_code_hash
from tests.backend.helpers import SCANCTL, ServerProcess, base_env, start_server
from tests.backend.offline_kit import make_venue, offline_scan, push, register_gate
from tests.backend.scan_kit import Door, open_door

HOSTILE_GATE = 'west "B"\\2'


@pytest.fixture
def logged_server(tmp_path: Path) -> Iterator[ServerProcess]:
    os.umask(0o022)  # a service manager's usual umask: SQLite would make the file 0644
    server = start_server(tmp_path / "data", LOG_LEVEL="debug", LOG_FORMAT="json")
    try:
        yield server
    finally:
        server.stop()


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def test_request_ids_invalid_causes_banner_metrics_and_file_mode(
    logged_server: ServerProcess,
) -> None:
    server = logged_server
    door = open_door(server)
    try:
        _scan_push_and_read(server, door)
    finally:
        door.admin.close()
        door.staff.close()


def _scan_push_and_read(server: ServerProcess, door: Door) -> None:
    ticket = door.ticket()
    good = door.mint(ticket)
    forged_mac = good[: -len("ab" * 32)] + "ab" * 32
    unknown = door.mint("0badc0de")
    given = "edge-" + uuid.uuid4().hex
    answers = []
    for code, request_id in (
        (good, given),
        ("garbage!", None),
        (forged_mac, None),
        (unknown, "not a usable id"),
    ):
        headers = {"X-Request-ID": request_id} if request_id else {}
        response = door.staff.post(
            "/api/scan",
            json={"qrData": code, "eventId": door.event, "deviceId": door.device, "gate": "main"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        answers.append(response)
    ids = [response.headers["X-Request-ID"] for response in answers]
    assert ids[0] == given  # echoed as sent
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids[1:])  # made when absent/bad
    assert len(set(ids)) == 4
    assert [r.json()["reason"] for r in answers] == ["ADMITTED", "INVALID", "INVALID", "INVALID"]

    # A printed code is a bearer secret for the whole event: stored as its hash only.
    printed = secrets.token_urlsafe(24)
    door.ticket(staticHash=static_code_hash(printed))
    assert door.scan(printed, gate="main")["reason"] == "ADMITTED"
    with server.client(server.token(Role.ADMIN, door.tenant)) as admin:
        stored = admin.get("/api/scans", params={"eventId": door.event}).json()["scans"]
    assert "sha256:" + static_code_hash(printed) in [scan["raw"] for scan in stored]
    assert printed not in json.dumps(stored)

    venue = make_venue(server, door.tenant, venue=door.venue)
    gate = register_gate(server, venue)
    pushed = push(server, gate, [offline_scan(venue.ticket_ids[0], gate=HOSTILE_GATE)])
    assert pushed["summary"]["accepted"] == 1

    found: dict[str, list[Any]] = {}
    with server.client() as http:
        exposition = http.get("/metrics").text
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    decisions = {
        (s.labels["gate"], s.labels["reason"], s.labels["decided_by"], s.labels["event"]): s.value
        for s in found["scanctl_scan_decisions_total"]
    }
    assert decisions[("main", "ADMITTED", "online", door.event)] == 2
    assert decisions[("main", "INVALID", "online", door.event)] == 3
    assert decisions[(HOSTILE_GATE, "ADMITTED", "offline", venue.event)] == 1
    assert found["process_resident_memory_bytes"][0].value > 0
    assert "python_info" in found

    database = Path(server.env["SCANCTL_DATA_DIR"]) / "backend.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

    assert server.stop() == 0
    lines = log_lines(server)
    for line in lines:
        assert {"ts", "level", "logger", "msg"} <= line.keys()
    (banner,) = [line for line in lines if line["msg"] == "scanctl backend ready"]
    assert banner["database"] == "sqlite" and banner["revision"] != "base" and banner["version"]
    assert "secret" not in json.dumps(banner).lower()
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    scans = [line["request_id"] for line in access if line.get("path") == "/api/scan"]
    assert scans[:4] == ids  # then the printed code's scan
    causes = {
        line["request_id"]: line["msg"].split(": ", 1)[1].split(" (device")[0]
        for line in lines
        if " INVALID: " in line["msg"]
    }
    assert causes == {
        ids[1]: "bad format (unrecognised format)",
        ids[2]: "MAC did not verify",
        ids[3]: "unknown ticket",
    }
    text = server.log()
    assert forged_mac not in text and unknown not in text and "garbage!" not in text


def test_secrets_come_from_files_and_a_world_readable_toml_with_secrets_is_refused(
    tmp_path: Path,
) -> None:
    env = base_env(tmp_path)
    for name in ("HMAC_SECRET", "JWT_SECRET", "MANIFEST_SIGNING_KEY"):
        secret = tmp_path / name.lower()
        secret.write_text(env.pop(name) + "\n")
        secret.chmod(0o600)
        env[f"{name}_FILE"] = str(secret)
    check = [str(SCANCTL), "server", "check-config", "--json"]
    result = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    masked = json.loads(result.stdout)["HMAC_SECRET"]
    assert masked and set(masked) == {"*"}  # read from the file, and never shown

    config = tmp_path / "backend.toml"
    config.write_text(f'jwt_secret = "{(tmp_path / "jwt_secret").read_text().strip()}"\n')
    config.chmod(0o644)
    del env["JWT_SECRET_FILE"]
    refused = subprocess.run(
        [*check, "--config", str(config)], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "every user of this machine may read it (mode 0644)" in refused.stderr
    assert f"chmod 600 {config}" in refused.stderr
    config.chmod(0o640)
    fine = subprocess.run(
        [*check, "--config", str(config)], env=env, capture_output=True, text=True, timeout=60
    )
    assert fine.returncode == 0, fine.stderr

    env["JWT_SECRET_FILE"] = str(tmp_path / "missing")
    missing = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert f"JWT_SECRET_FILE: cannot read {tmp_path / 'missing'}" in missing.stderr
