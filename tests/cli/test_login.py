"""`scanctl login` / `logout`: the token is never echoed, kept in the keyring or a 0600 file."""

from __future__ import annotations

import os
import select
import stat
import subprocess
import time
from pathlib import Path

import jwt
import keyring
import pytest

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import SCANCTL, ServerProcess
from tests.backend.world import World
from tests.cli.conftest import Cli
from tests.cli.file_keyring import JsonFileKeyring

LOGIN_KEYS = {
    "context", "storedIn", "path", "verified", "subject", "role", "tenant", "venue", "expiresAt",
}  # fmt: skip


def _token(exp_in: int, **claims: object) -> str:
    payload = {"sub": "ops@acme", "role": "ADMIN", "tenantId": "acme", **claims}
    payload["exp"] = int(time.time()) + exp_in
    return jwt.encode(payload, "x" * 40, algorithm="HS256")


def test_login_from_stdin_stores_a_0600_file_and_never_prints_the_token(cli: Cli) -> None:
    cli.json("context", "set", "hall", "--url", "http://127.0.0.1:9")
    token = _token(3600)
    result = cli.run("login", "--no-verify", "--json", input=token + "\n")
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr
    report = __import__("json").loads(result.stdout)
    assert set(report) == LOGIN_KEYS
    assert report["storedIn"] == "file"
    assert (report["context"], report["role"], report["tenant"]) == ("hall", "ADMIN", "acme")
    # One warning line says where the token went.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "no OS keyring" in warnings[0]
    assert "0600" in warnings[0]

    path = Path(report["path"])
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert token not in (cli.config_dir / "config.toml").read_text()

    shown = cli.json("context", "show")
    assert shown["token"]["present"] is True
    assert shown["token"]["source"] == f"file {path}"
    assert token not in str(shown)

    # Printed only when asked, alone on stdout.
    asked = cli.run("context", "show", "--show-token")
    assert (asked.returncode, asked.stdout) == (0, token + "\n")

    assert cli.json("logout") == {"context": "hall", "removed": [str(path)]}
    assert cli.run("context", "show", "--show-token").returncode == 4
    assert not path.exists()
    assert cli.json("logout") == {"context": "hall", "removed": []}


def test_login_uses_the_keyring_when_there_is_one(cli: Cli, tmp_path: Path) -> None:
    os.environ["SCANCTL_TEST_KEYRING"] = str(tmp_path / "keyring.json")
    keyring.set_keyring(JsonFileKeyring())
    try:
        cli.json("context", "set", "hall", "--url", "http://127.0.0.1:9")
        token = _token(3600)
        result = cli.run("login", "--no-verify", "--json", input=token)
        assert result.returncode == 0, result.stderr
        assert "Warning" not in result.stderr
        assert __import__("json").loads(result.stdout)["storedIn"] == "keyring"
        assert token in (tmp_path / "keyring.json").read_text()
        assert not (cli.config_dir / "credentials" / "hall.token").exists()
        assert cli.json("context", "show")["token"]["source"] == "keyring"
        assert cli.json("logout")["removed"] == ["keyring"]
        assert token not in (tmp_path / "keyring.json").read_text()
    finally:
        del os.environ["SCANCTL_TEST_KEYRING"]


def test_an_expired_token_is_refused_and_not_stored(cli: Cli) -> None:
    cli.json("context", "set", "hall")
    result = cli.run("login", "--no-verify", input=_token(-60))
    assert result.returncode == 4
    assert result.stderr.startswith("Error: this token expired at ")
    assert "nothing was stored" in result.stderr
    assert not (cli.config_dir / "credentials" / "hall.token").exists()


def test_a_token_about_to_expire_is_stored_with_a_warning(cli: Cli) -> None:
    cli.json("context", "set", "hall")
    result = cli.run("login", "--no-verify", input=_token(120))
    assert result.returncode == 0
    assert "Warning: this token expires in 1 min" in result.stderr


def test_login_needs_a_context_and_a_token(cli: Cli) -> None:
    result = cli.run("login", "--no-verify", input=_token(600))
    assert result.returncode == 2
    assert "Hint: create one first" in result.stderr
    cli.json("context", "set", "hall")
    assert cli.run("login", "--context", "other", input=_token(600)).returncode == 2
    assert cli.run("login", input="\n").returncode == 2
    assert cli.run("login", input="two words\n").returncode == 2


def test_the_stored_token_is_used_and_an_expired_one_exits_4(
    cli: Cli, server: ServerProcess, world: World
) -> None:
    cli.json("context", "set", "v1", "--url", server.url, "--event", world.own.event)
    good = server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)
    assert cli.run("login", input=good).returncode == 0  # verified by default
    assert cli.json("policy", "show")["eventId"] == world.own.event

    # A token that expired after login: a clear message, exit 4, no call made.
    path = cli.config_dir / "credentials" / "v1.token"
    path.write_text(server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue, ttl=-5))
    result = cli.run("policy", "show")
    assert result.returncode == 4
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: the token (file ") and "expired at" in lines[0]
    assert lines[1] == (
        "Hint: get a fresh token and run `scanctl login --context v1` (or set SCANCTL_TOKEN)"
    )

    # A token the backend refuses (signed with another secret): exit 4 too.
    forged = _token(3600, tenantId=world.own.tenant)
    result = cli.run("policy", "show", "--token", forged)
    assert result.returncode == 4
    assert result.stderr.startswith("Error: the backend refused the token")
    assert "Traceback" not in result.stderr
    # --verify refuses to store such a token.
    assert cli.run("login", "--verify", input=forged).returncode == 4
    assert path.read_text().strip() != forged


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_prompt_does_not_echo_the_token(cli: Cli) -> None:
    cli.json("context", "set", "hall")
    token = _token(3600)
    leader, follower = os.openpty()
    process = subprocess.Popen(
        [SCANCTL, "login", "--no-verify"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=cli.process_env,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        # Click writes "Token:", then getpass turns echo off and writes " ": type after that,
        # as a person would (typing earlier would be flushed by getpass, not echoed).
        while b"Token: " not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                seen += os.read(leader, 4096)
        assert b"Token: " in seen, seen
        os.write(leader, token.encode() + b"\n")
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert process.returncode == 0, seen
    assert token.encode() not in seen
    assert b"logged in to context hall" in seen
    assert (cli.config_dir / "credentials" / "hall.token").read_text().strip() == token


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_ctrl_c_at_the_prompt_exits_130(cli: Cli) -> None:
    import signal

    cli.json("context", "set", "hall")
    leader, follower = os.openpty()
    process = subprocess.Popen(
        [SCANCTL, "login", "--no-verify"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=cli.process_env,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"Token: " not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.5)[0]:
                seen += os.read(leader, 4096)
        assert b"Token: " in seen, seen
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        while select.select([leader], [], [], 0.2)[0]:
            try:
                seen += os.read(leader, 4096)
            except OSError:
                break
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    assert process.returncode == 130, seen
    assert b"Interrupted." in seen
    assert b"Traceback" not in seen
    assert not (cli.config_dir / "credentials" / "hall.token").exists()


def test_a_broken_keyring_configuration_falls_back_to_the_file_with_one_warning(
    cli: Cli,
) -> None:
    # SecretService without a D-Bus session: keyring.get_keyring() raises RuntimeError.
    broken = {
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        "DBUS_SESSION_BUS_ADDRESS": "",
    }
    assert cli.process("context", "set", "hall", "--url", "http://127.0.0.1:9").returncode == 0
    token = _token(3600)
    login = cli.process("login", "--no-verify", input=token, **broken)
    assert login.returncode == 0, login.stderr
    (warning,) = login.stderr.splitlines()
    assert warning.startswith("Warning: the OS keyring cannot be used (RuntimeError: ")
    assert "0600" in warning
    shown = cli.process("context", "show", "--show-token", **broken)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, token + "\n", "")
    assert cli.process("logout", **broken).returncode == 0


def test_login_asks_the_backend_and_stores_only_a_token_it_accepts(
    cli: Cli, server: ServerProcess, world: World
) -> None:
    cli.json("context", "set", "v2", "--url", server.url)
    for garbage in ("not-a-token", _token(3600, tenantId=world.own.tenant)):
        refused = cli.run("login", input=garbage)
        assert refused.returncode == 4, refused.stderr
        assert refused.stderr.startswith("Error: the backend refused the token")
        assert cli.run("context", "show", "--show-token").returncode == 4  # nothing stored
    good = server.token(Role.VENUE_MANAGER, world.own.tenant, world.own.venue)
    report = cli.json("login", input=good)
    assert report["verified"] is True
    assert (report["role"], report["tenant"], report["venue"]) == (
        "VENUE_MANAGER", world.own.tenant, world.own.venue,
    )  # fmt: skip
    assert report["expiresAt"].endswith("Z")


def test_login_without_a_backend_stores_nothing_unless_told(cli: Cli) -> None:
    cli.json("context", "set", "far", "--url", "http://127.0.0.1:9")
    token = _token(3600)
    result = cli.run("login", input=token)
    assert result.returncode == 3
    assert result.stderr.startswith("Error: cannot reach the backend at http://127.0.0.1:9")
    assert "the token was not stored" in result.stderr.splitlines()[0]
    assert "--no-verify" in result.stderr
    assert cli.run("context", "show", "--show-token").returncode == 4
    assert cli.json("login", "--no-verify", input=token)["verified"] is False
