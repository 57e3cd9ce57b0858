"""`scanctl scans list` as an export: the cursor followed, four formats, relative times."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from scanctl.backend.auth.principal import Role
from scanctl.cli.export import SCAN_FIELDS
from tests.backend.helpers import ServerProcess
from tests.backend.scan_kit import Door, open_door
from tests.cli.conftest import Cli

SCANS = 7


@pytest.fixture(scope="module")
def door(server: ServerProcess) -> Iterator[Door]:
    """An event with SCANS recorded scans (one admission, then the same code again)."""
    opened = open_door(server)
    code = opened.mint(opened.ticket())
    for _ in range(SCANS):
        opened.scan(code)
    try:
        yield opened
    finally:
        opened.admin.close()
        opened.staff.close()


@pytest.fixture
def manager(cli: Cli, door: Door) -> Cli:
    cli.env["SCANCTL_URL"] = door.server.url
    cli.env["SCANCTL_TOKEN"] = door.server.token(Role.ADMIN, door.tenant)
    cli.env["SCANCTL_EVENT"] = door.event
    return cli


def _ndjson(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_all_follows_the_cursor_across_pages(manager: Cli) -> None:
    result = manager.run("scans", "list", "--all", "--page-size", "2", "--format", "ndjson")
    assert result.returncode == 0, result.stderr
    scans = _ndjson(result.stdout)
    assert len(scans) == SCANS
    assert len({s["id"] for s in scans}) == SCANS
    assert [s["reason"] for s in scans] == ["ADMITTED"] + ["QR_ALREADY_USED"] * (SCANS - 1)
    assert all(set(s) == set(SCAN_FIELDS) for s in scans)
    assert result.stderr == ""


def test_limit_leaves_a_cursor_that_continues_exactly(manager: Cli) -> None:
    first = manager.json("scans", "list", "--limit", "3", "--page-size", "2")
    assert len(first["scans"]) == 3
    assert first["next"]
    rest = manager.json("scans", "list", "--all", "--cursor", first["next"])
    assert rest["next"] is None
    everything = manager.json("scans", "list", "--all")
    ids = [s["id"] for s in everything["scans"]]
    assert [s["id"] for s in first["scans"] + rest["scans"]] == ids
    assert len(ids) == SCANS


def test_one_page_says_how_to_get_the_rest(manager: Cli) -> None:
    result = manager.run("scans", "list", "--page-size", "2", "--limit", "2")
    assert result.returncode == 0
    assert "more scans follow: --all for every one, or --cursor " in result.stderr


def test_csv_has_a_header_and_a_row_per_scan(manager: Cli) -> None:
    result = manager.run("scans", "list", "--all", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == SCAN_FIELDS
    assert len(rows) == SCANS + 1
    assert {row[SCAN_FIELDS.index("allowed")] for row in rows[1:]} == {"true", "false"}


def test_times_are_rfc3339_utc_with_z(manager: Cli) -> None:
    scans = manager.json("scans", "list")["scans"]
    for scan in scans:
        for key in ("scannedAt", "recordedAt"):
            assert scan[key].endswith("Z")
            assert datetime.fromisoformat(scan[key]).tzinfo == UTC


@pytest.mark.parametrize(("since", "count"), [("1h", SCANS), ("yesterday", SCANS), ("+1h", 0)])
def test_since_takes_relative_times(manager: Cli, since: str, count: int) -> None:
    assert len(manager.json("scans", "list", "--since", since)["scans"]) == count


def test_a_bad_time_is_a_usage_error(manager: Cli) -> None:
    result = manager.run("scans", "list", "--since", "lastweek")
    assert result.returncode == 2
    assert "is not a time" in result.stderr


def test_in_a_pipe_the_table_is_tab_separated_and_ids_are_whole(manager: Cli) -> None:
    result = manager.run("scans", "list")
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["recorded", "ticket", "reason", "gate", "device", "by", "id"]
    ids = [line.split("\t")[-1] for line in lines[1:]]
    assert len(ids) == SCANS and all(len(i) == 36 for i in ids)
    quiet = manager.run("scans", "list", "-q")
    assert quiet.stdout.splitlines() == ids
