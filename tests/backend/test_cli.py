"""The backend's commands: `token issue`, `catalog …`, `server check-config`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jwt
import pytest

from scanctl.backend.auth import Role
from scanctl.cli.catalog import ImportProblems, read_tickets
from tests.backend.helpers import SCANCTL, ServerProcess, base_env, fresh_secret, new_id


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCANCTL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_token_issue(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    venue = new_id()
    result = run(
        "token", "issue", "--role", "VENUE_MANAGER", "--tenant", "t9", "--venue", venue,
        "--ttl", "120", "--subject", "ops", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), env["JWT_SECRET"], algorithms=["HS256"])
    assert claims["sub"] == "ops"
    assert claims["tenantId"] == "t9"
    assert claims["role"] == "VENUE_MANAGER"
    assert claims["venueId"] == venue
    assert claims["exp"] - claims["iat"] == 120


def test_token_issue_reads_a_config_file(tmp_path: Path) -> None:
    secret = fresh_secret()
    config = tmp_path / "backend.toml"
    config.write_text(f'jwt_secret = "{secret}"\n')
    config.chmod(0o600)
    env = base_env(tmp_path)
    del env["JWT_SECRET"]
    result = run("token", "issue", "--role", "ADMIN", "--tenant", "t9", "-c", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert jwt.decode(result.stdout.strip(), secret, algorithms=["HS256"])["role"] == "ADMIN"


@pytest.mark.parametrize(
    ("args", "env_change", "message"),
    [
        (("--role", "GOD", "--tenant", "t"), {}, "--role must be one of"),
        (("--role", "VENUE_STAFF", "--tenant", "t"), {}, "needs --venue"),
        (("--role", "VENUE_STAFF", "--tenant", "t", "--venue", "hall"), {}, "must be a UUID"),
        (("--role", "ADMIN", "--tenant", "t"), {"JWT_SECRET": None}, "JWT_SECRET: is required"),
        (("--role", "ADMIN", "--tenant", "t"), {"JWT_SECRET": "changeme"}, "placeholder"),
    ],
)
def test_token_issue_refusals(
    tmp_path: Path, args: tuple[str, ...], env_change: dict[str, str | None], message: str
) -> None:
    env = base_env(tmp_path)
    for key, value in env_change.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    result = run("token", "issue", *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_check_config(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    result = run("server", "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert "PORT=3009" in result.stdout
    assert env["JWT_SECRET"] not in result.stdout
    env["JWT_SECRET"] = "short"
    assert run("server", "check-config", env=env).returncode == 2


def test_read_tickets_reports_every_bad_row_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(
        "id,status,zones,valid_from\n"
        "0000000a,ACTIVE,GA;VIP,2030-01-01T10:00:00Z\n"
        "BAD,ACTIVE,,\n"
        "\n"
        "0000000b,LOST,,\n"
        "0000000a,ACTIVE,,\n"
        "0000000c,ACTIVE\n"
    )
    with pytest.raises(ImportProblems) as caught:
        read_tickets(path)
    lines = caught.value.lines
    assert any(line.startswith(f"{path}:3: id:") for line in lines)
    assert any(line.startswith(f"{path}:5: status:") for line in lines)
    assert any(line.startswith(f"{path}:6:") and "already appears" in line for line in lines)
    assert any(line.startswith(f"{path}:7:") and "2 values for 4 columns" in line for line in lines)
    assert len(lines) == 4


def test_read_tickets_json(tmp_path: Path) -> None:
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps({"tickets": [{"id": "0000000a", "zones": ["GA"]}]}))
    assert [t.id for t in read_tickets(path)] == ["0000000a"]
    path.write_text(json.dumps([{"id": "0000000a"}, {"id": "nope"}, 5]))
    with pytest.raises(ImportProblems) as caught:
        read_tickets(path)
    assert caught.value.lines[0].startswith(f"{path}: item 2: id:")
    assert caught.value.lines[1] == f"{path}: item 3: expected an object"


def test_import_end_to_end(server: ServerProcess, tmp_path: Path) -> None:
    tenant = f"cli-{new_id()[:8]}"
    venue, event = new_id(), new_id()
    env = base_env(tmp_path)
    env["SCANCTL_URL"] = server.url
    env["SCANCTL_TOKEN"] = server.token(Role.VENUE_MANAGER, tenant, venue)
    created = run(
        "catalog", "add-event", "--id", event, "--venue", venue, "--name", "CLI night",
        "--starts-at", "2030-06-01T18:00:00Z", "--ends-at", "2030-06-01T23:00:00Z",
        "--json", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["id"] == event

    csv_path = tmp_path / "tickets.csv"
    rows = "\n".join(f"{i:08x},ACTIVE,GA" for i in range(10_005))
    csv_path.write_text(f"id,status,zones\n{rows}\n")
    first = run("catalog", "import", str(csv_path), "--event", event, "--json", env=env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["created"] == 10_005
    assert summary["chunks"] == 2
    second = run("catalog", "import", str(csv_path), "--event", event, "--json", env=env)
    assert json.loads(second.stdout)["unchanged"] == 10_005

    bad = tmp_path / "bad.csv"
    bad.write_text("id,status\n0000000a,REFUNDED\nxyz,ACTIVE\n")
    refused = run("catalog", "import", str(bad), "--event", event, env=env)
    assert refused.returncode == 2
    assert f"{bad}:3: id:" in refused.stderr
    assert "nothing was imported" in refused.stderr
    with server.client(env["SCANCTL_TOKEN"]) as http:
        ticket = http.get(f"/api/catalog/events/{event}/tickets", params={"limit": 1}).json()
    assert ticket["tickets"][0]["status"] == "ACTIVE"  # the good row of bad.csv was not sent

    listed = run("catalog", "events", "--json", env=env)
    assert [e["id"] for e in json.loads(listed.stdout)] == [event]


def test_import_exit_codes(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[{"id": "0000000a"}]')
    env = base_env(tmp_path)
    env["SCANCTL_URL"] = server.url
    env["SCANCTL_TOKEN"] = server.token(Role.VENUE_STAFF, "t", new_id())
    denied = run("catalog", "import", str(path), "--event", new_id(), env=env)
    assert denied.returncode == 4, denied.stderr
    env["SCANCTL_TOKEN"] = server.token(Role.ADMIN, "t")
    missing = run("catalog", "import", str(path), "--event", new_id(), env=env)
    assert missing.returncode == 1
    assert "event not found" in missing.stderr
    env["SCANCTL_URL"] = "http://127.0.0.1:9"
    unreachable = run("catalog", "import", str(path), "--event", new_id(), env=env)
    assert unreachable.returncode == 3


def test_token_issue_json(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    result = run("token", "issue", "--role", "SYSTEM", "--tenant", "t9", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["role"] == "SYSTEM"
    assert data["venueId"] is None
    assert data["expiresAt"].endswith("Z")
    assert jwt.decode(data["token"], env["JWT_SECRET"], algorithms=["HS256"])["tenantId"] == "t9"


def test_request_bodies_respect_count_and_size() -> None:
    from scanctl.backend.api.models import TicketIn
    from scanctl.cli.catalog import _request_bodies

    small = [TicketIn.model_validate({"id": f"{i:08x}"}) for i in range(25)]
    assert [len(b["tickets"]) for b in _request_bodies(small, 10)] == [10, 10, 5]
    zones = [f"zone-{z:02d}-" + "x" * 55 for z in range(32)]
    big = [TicketIn.model_validate({"id": f"{i:08x}", "zones": zones}) for i in range(3000)]
    bodies = _request_bodies(big, 10_000)
    assert len(bodies) > 1
    assert all(len(json.dumps(b)) <= 4 * 1024 * 1024 for b in bodies)
    assert [t["id"] for b in bodies for t in b["tickets"]] == [t.id for t in big]
