"""Tables in pipes: tab-separated, untruncated, a header line; -q for ids; --output to choose."""

from __future__ import annotations

import uuid

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess
from tests.cli.conftest import Cli

LONG = "http://127.0.0.1:3009/a-rather-long-path-that-a-narrow-table-would-cut"


def test_context_list_in_a_pipe_keeps_every_url_whole(cli: Cli) -> None:
    cli.json("context", "set", "a", "--url", LONG + "/a")
    cli.json("context", "set", "b", "--url", LONG + "/b")
    result = cli.run("context", "list", COLUMNS="40")
    lines = result.stdout.splitlines()
    assert lines[0] == "\tname\turl\ttenant\tvenue\tevent"
    assert [line.split("\t")[2] for line in lines[1:]] == [LONG + "/a", LONG + "/b"]
    assert cli.run("context", "list", "-q").stdout == "a\nb\n"


def test_output_table_forces_rich_and_still_cuts_nothing(cli: Cli) -> None:
    cli.json("context", "set", "a", "--url", LONG)
    result = cli.run("context", "list", "--output", "table", COLUMNS="60")
    assert "┃" in result.stdout or "│" in result.stdout
    assert "…" not in result.stdout
    root = cli.run("--output", "tsv", "context", "list")
    assert root.stdout.splitlines()[1].split("\t")[2] == LONG


def test_device_list_for_awk(cli: Cli, server: ServerProcess) -> None:
    tenant = f"out-{uuid.uuid4().hex[:6]}"
    venue = str(uuid.uuid4())
    env = {"SCANCTL_URL": server.url, "SCANCTL_TOKEN": server.token(Role.ADMIN, tenant)}
    with server.client(env["SCANCTL_TOKEN"]) as http:
        for name in ("North gate 1", "South gate"):
            body = {"deviceId": str(uuid.uuid4()), "name": name, "type": "SCANNER_GUN",
                    "venueId": venue}  # fmt: skip
            assert http.post("/api/devices/register", json=body).status_code == 201
    result = cli.run("device", "list", **env)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split("\t") == ["id", "name", "type", "venue", "offline", "status"]
    ids = [row.split("\t")[0] for row in rows]
    assert len(ids) == 2 and all(uuid.UUID(i) for i in ids)
    assert {row.split("\t")[1] for row in rows} == {"North gate 1", "South gate"}
    assert cli.run("device", "list", "-q", **env).stdout.split() == ids
