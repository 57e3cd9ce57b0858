"""`scanctl qr generate`, `scanctl scan`, `scanctl scans list` against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, free_port, run_cli
from tests.backend.scan_kit import Door, open_door


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    opened = open_door(server)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


def test_generate_scan_and_list(door: Door, tmp_path: Path) -> None:
    server = door.server
    admin = server.token(Role.ADMIN, door.tenant)
    staff = server.token(Role.VENUE_STAFF, door.tenant, door.venue)
    ticket = door.ticket()
    generated = run_cli(tmp_path, server.url, admin, "qr", "generate", ticket, "--json")
    assert generated.returncode == 0, generated.stderr
    code = json.loads(generated.stdout)["qrData"]
    scan = ("scan", code, "--event", door.event, "--device", door.device, "--gate", "cli")
    first = run_cli(tmp_path, server.url, staff, *scan)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ADMITTED  ADMITTED")
    again = run_cli(tmp_path, server.url, staff, *scan, "--json")
    assert again.returncode == 1
    assert json.loads(again.stdout)["reason"] == "QR_ALREADY_USED"
    listed = run_cli(tmp_path, server.url, admin, "scans", "list", "--event", door.event, "--json")
    assert listed.returncode == 0, listed.stderr
    mine = [s for s in json.loads(listed.stdout)["scans"] if s["gate"] == "cli"]
    assert [s["reason"] for s in mine] == ["ADMITTED", "QR_ALREADY_USED"]
    shown = run_cli(tmp_path, server.url, admin, "qr", "show", ticket)
    assert shown.returncode == 0, shown.stderr
    assert "▀" in shown.stdout or "█" in shown.stdout


def test_errors_have_exit_codes(door: Door, tmp_path: Path) -> None:
    server = door.server
    scan = ("scan", "x" * 30, "--event", door.event, "--device", door.device)
    refused = run_cli(tmp_path, server.url, "not-a-token", *scan)
    assert refused.returncode == 4
    assert refused.stderr.startswith("Error: ")
    down = run_cli(tmp_path, f"http://127.0.0.1:{free_port()}", "t", *scan)
    assert down.returncode == 3
    assert down.stderr.startswith("Error: ")
    staff = server.token(Role.VENUE_STAFF, door.tenant, door.venue)
    forbidden = run_cli(tmp_path, server.url, staff, "qr", "generate", "00000001")
    assert forbidden.returncode == 4
