"""`scanctl policy …` against a real backend: JSON keys, exit codes, a scripted $EDITOR."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, new_id
from tests.backend.world import World
from tests.cli.conftest import Cli

CHANGE_KEYS = {"eventId", "changes", "dryRun", "pushed", "policy"}


@pytest.fixture
def event(server: ServerProcess, world: World) -> str:
    """A fresh event of the world's own venue (its policy: the service defaults)."""
    event_id = new_id()
    with server.client(server.token(Role.ADMIN, world.own.tenant)) as http:
        response = http.post(
            "/api/catalog/events",
            json={
                "id": event_id,
                "venueId": world.own.venue,
                "name": "CLI policy test",
                "startsAt": "2030-06-01T18:00:00+02:00",
                "endsAt": "2030-06-01T23:30:00+02:00",
            },
        )
        assert response.status_code == 201, response.text
    return event_id


@pytest.fixture
def manager(cli: Cli, server: ServerProcess, world: World, event: str) -> Cli:
    """A context on the real backend with the event, logged in as the venue's manager."""
    cli.json("context", "set", "v1", "--url", server.url, "--event", event)
    token = server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)
    assert cli.run("login", input=token).returncode == 0
    return cli


def _backend_policy(server: ServerProcess, world: World, event: str) -> dict[str, Any]:
    with server.client(server.token(Role.ADMIN, world.own.tenant)) as http:
        response = http.get(f"/api/policies/{event}")
        assert response.status_code == 200
        return dict(response.json())


def _editor(tmp_path: Path, body: str) -> str:
    """An $EDITOR command: a Python script that gets the file's path as its argument."""
    script = tmp_path / f"editor_{abs(hash(body))}.py"
    script.write_text("import pathlib, sys\npath = pathlib.Path(sys.argv[1])\n" + body)
    return f"{sys.executable} {script}"


def test_show_json_and_toml(manager: Cli, event: str) -> None:
    shown = manager.json("policy", "show")
    assert set(shown) == {"eventId", "policy", "isDefault", "updatedBy", "updatedAt"}
    assert shown["eventId"] == event
    assert shown["isDefault"] is True
    assert shown["policy"]["duplicate_window_seconds"] == 600
    toml = manager.run("policy", "show", event, "--toml")
    assert toml.returncode == 0
    assert "duplicate_window_seconds = 600  # default" in toml.stdout
    assert "# A second entry scan within this many seconds" in toml.stdout


def test_set_dry_run_then_push(
    manager: Cli, server: ServerProcess, world: World, event: str
) -> None:
    dry = manager.json("policy", "set", "reentry_allowed=true", "max_reentries=3", "--dry-run")
    assert set(dry) == CHANGE_KEYS
    assert dry["dryRun"] is True
    assert dry["pushed"] is False
    assert dry["changes"] == [
        {"key": "reentry_allowed", "from": False, "to": True},
        {"key": "max_reentries", "from": None, "to": 3},
    ]
    assert _backend_policy(server, world, event)["isDefault"] is True

    pushed = manager.json(
        "policy", "set", event, "reentry_allowed=true", "max_reentries=3",
        "gate_zones.vip=VIP", "mode=offline-only", "--yes",
    )  # fmt: skip
    assert pushed["pushed"] is True
    stored = _backend_policy(server, world, event)
    assert stored["updatedBy"] == f"venue_manager@{world.own.tenant}"
    assert stored["policy"]["max_reentries"] == 3
    assert stored["policy"]["gate_zones"] == {"vip": "VIP"}
    assert stored["policy"]["mode"] == "offline-only"

    # KEY= resets to the default; setting what is already there changes nothing.
    reset = manager.json("policy", "set", "max_reentries=", "gate_zones.vip=", "--yes")
    assert {c["key"] for c in reset["changes"]} == {"max_reentries", "gate_zones"}
    same = manager.json("policy", "set", "mode=offline-only", "--yes")
    assert same["changes"] == []
    assert same["pushed"] is False


def test_set_from_a_template(manager: Cli, server: ServerProcess, world: World, event: str) -> None:
    result = manager.json(
        "policy", "set", "--template", "festival-reentry", "cooldown_seconds=60", "--yes"
    )
    assert result["pushed"] is True
    stored = _backend_policy(server, world, event)["policy"]
    assert (stored["reentry_allowed"], stored["max_reentries"], stored["cooldown_seconds"]) == (
        True, 5, 60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("max_reentries=3", "max_reentries needs reentry_allowed = true"),
        ("duplicate_window_seconds=-1", "duplicate_window_seconds"),
        ("no_such_key=1", "no_such_key"),
        ("mode=sometimes", "mode"),
    ],
)
def test_an_invalid_policy_exits_2_and_nothing_is_pushed(
    manager: Cli, server: ServerProcess, world: World, event: str, assignment: str, message: str
) -> None:
    result = manager.run("policy", "set", assignment, "--yes")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: the policy is not valid: ")
    assert message in first
    assert "Traceback" not in result.stderr
    assert _backend_policy(server, world, event)["isDefault"] is True


def test_forbidden_venue_and_role_exit_4(
    cli: Cli, server: ServerProcess, world: World, event: str
) -> None:
    cli.json("context", "set", "v1", "--url", server.url)
    manager_token = server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)
    assert cli.run("login", input=manager_token).returncode == 0
    result = cli.run("policy", "show", world.other_venue.event)
    assert result.returncode == 4
    assert result.stderr.startswith("Error: not allowed: ")
    assert "Hint: " in result.stderr
    # Staff may read a policy but not change it.
    staff = server.token(Role.VENUE_STAFF, world.own.tenant, world.own.venue)
    assert cli.run("policy", "show", event, "--token", staff).returncode == 0
    result = cli.run("policy", "set", event, "cooldown_seconds=5", "--yes", "--token", staff)
    assert result.returncode == 4
    assert "not allowed" in result.stderr


def test_unreachable_backend_exits_3_from_a_real_process(cli: Cli) -> None:
    result = cli.process(
        "policy", "show", "0b7e9a10-0000-4000-8000-000000000000", "--url", "http://127.0.0.1:9"
    )
    assert result.returncode == 3
    assert result.stderr.splitlines()[0].startswith(
        "Error: cannot reach the backend at http://127.0.0.1:9"
    )
    assert "Hint: " in result.stderr
    assert "Traceback" not in result.stderr
    assert "retry" not in result.stderr  # the client's retry log stays quiet


def test_no_event_is_a_usage_error(cli: Cli) -> None:
    cli.json("context", "set", "bare", "--url", "http://127.0.0.1:9")
    result = cli.run("policy", "show")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Error: no event given"


def test_templates(manager: Cli) -> None:
    templates = manager.json("policy", "templates")
    names = {t["name"] for t in templates}
    assert {"standard", "no-reentry", "festival-reentry", "vip-zones"} <= names
    assert all(set(t) == {"name", "policy", "builtIn", "updatedAt"} for t in templates)
    one = manager.json("policy", "templates", "festival-reentry")
    assert one["policy"]["reentry_allowed"] is True
    table = manager.run("policy", "templates")
    assert "festival-reentry" in table.stdout
    assert manager.run("policy", "templates", "no-such-template").returncode == 1


def test_edit_with_a_scripted_editor(
    manager: Cli, server: ServerProcess, world: World, event: str, tmp_path: Path
) -> None:
    editor = _editor(
        tmp_path,
        textwrap.dedent("""
            text = path.read_text()
            assert "duplicate_window_seconds = 600" in text
            path.write_text(text.replace("duplicate_window_seconds = 600",
                                         "duplicate_window_seconds = 900"))
        """),
    )
    result = manager.run("policy", "edit", "--dry-run", EDITOR=editor)
    assert result.returncode == 0, result.stderr
    assert "-duplicate_window_seconds = 600" in result.stdout
    assert "+duplicate_window_seconds = 900" in result.stdout
    assert "dry run: nothing was pushed" in result.stdout
    assert _backend_policy(server, world, event)["isDefault"] is True

    # Asked before pushing: "n" pushes nothing (exit 1), "y" pushes.
    declined = manager.run("policy", "edit", EDITOR=editor, input="n\n")
    assert declined.returncode == 1
    assert "nothing was pushed" in declined.stderr
    assert _backend_policy(server, world, event)["isDefault"] is True
    # A real process: stdout is only the JSON (the question and the diff go to stderr).
    accepted = manager.process("policy", "edit", "--json", EDITOR=editor, input="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Push this policy" in accepted.stderr
    report = json.loads(accepted.stdout)
    assert report["pushed"] is True
    assert report["changes"] == [{"key": "duplicate_window_seconds", "from": 600, "to": 900}]
    assert _backend_policy(server, world, event)["policy"]["duplicate_window_seconds"] == 900


def test_edit_reopens_with_the_error_on_top_until_it_is_fixed(
    manager: Cli, server: ServerProcess, world: World, event: str, tmp_path: Path
) -> None:
    log = tmp_path / "seen.txt"
    editor = _editor(
        tmp_path,
        textwrap.dedent(f"""
            text = path.read_text()
            with open({str(log)!r}, "a") as seen:
                seen.write(text + "\\n=====\\n")
            if "# ERROR:" in text:  # second round: fix it
                path.write_text(text.replace("reentry_allowed = false", "reentry_allowed = true"))
            else:  # first round: a re-entry limit without re-entry, added at the end
                path.write_text(text + "\\nmax_reentries = 2\\n")
        """),
    )
    result = manager.run("policy", "edit", "--yes", EDITOR=editor)
    assert result.returncode == 0, result.stderr
    rounds = log.read_text().split("\n=====\n")[:-1]
    assert len(rounds) == 2
    assert "# ERROR:" not in rounds[0]
    assert rounds[1].startswith("# ERROR: policy: Value error, max_reentries needs reentry_allowed")
    stored = _backend_policy(server, world, event)["policy"]
    assert (stored["reentry_allowed"], stored["max_reentries"]) == (True, 2)


def test_edit_gives_up_when_saved_unchanged_after_an_error(
    manager: Cli, server: ServerProcess, world: World, event: str, tmp_path: Path
) -> None:
    editor = _editor(
        tmp_path,
        textwrap.dedent("""
            text = path.read_text()
            if "# ERROR:" not in text:
                path.write_text(text.replace("cooldown_seconds = 0", "cooldown_seconds = -5"))
        """),
    )
    result = manager.run("policy", "edit", "--yes", EDITOR=editor)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: the policy is not valid: cooldown_seconds")
    assert _backend_policy(server, world, event)["isDefault"] is True


def test_edit_cancelled_by_an_empty_file_or_a_failing_editor(
    manager: Cli, event: str, tmp_path: Path
) -> None:
    empty = _editor(tmp_path, 'path.write_text("# nothing\\n")\n')
    result = manager.run("policy", "edit", EDITOR=empty)
    assert result.returncode == 1
    assert "edit cancelled" in result.stderr
    failing = _editor(tmp_path, "sys.exit(3)\n")
    result = manager.run("policy", "edit", EDITOR=failing)
    assert result.returncode == 1
    assert "the editor exited with 3" in result.stderr
    result = manager.run("policy", "edit", EDITOR="/nonexistent/editor")
    assert result.returncode == 2
    unchanged = _editor(tmp_path, "pass\n")
    result = manager.run("policy", "edit", EDITOR=unchanged)
    assert result.returncode == 0
    assert "no changes" in result.stdout
