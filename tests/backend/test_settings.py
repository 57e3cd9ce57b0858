"""Settings: sources and their order, every problem at once, and refusals before binding."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scanctl.backend.errors import ConfigError
from scanctl.backend.settings import load_settings
from tests.backend.helpers import SCANCTL, base_env, free_port, fresh_secret, port_is_open


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(environ=base_env(tmp_path))
    assert settings.port == 3009
    assert settings.host == "127.0.0.1"
    assert settings.data_dir == tmp_path
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    assert settings.should_auto_migrate
    assert settings.qr_expiration_seconds == 30
    assert settings.duplicate_scan_window_seconds == 600
    assert settings.offline_manifest_validity_hours == 24
    assert settings.offline_manifest_grace_hours == 2


def test_secrets_never_print(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    settings = load_settings(environ=env)
    shown = repr(settings) + str(settings.model_dump())
    assert env["HMAC_SECRET"] not in shown
    assert env["JWT_SECRET"] not in shown


def test_environment_beats_file_and_flags_beat_both(tmp_path: Path) -> None:
    config = tmp_path / "backend.toml"
    config.write_text(
        f'port = 4000\nhost = "0.0.0.0"\nqr_expiration_seconds = 45\n'
        f'hmac_secret = "{fresh_secret()}"\n'
    )
    config.chmod(0o600)  # a file with secrets readable by every user is refused
    env = base_env(tmp_path, PORT="5000")
    del env["HMAC_SECRET"]
    settings = load_settings(config, environ=env)
    assert settings.port == 5000
    assert settings.host == "0.0.0.0"
    assert settings.qr_expiration_seconds == 45
    settings = load_settings(config, environ=env, overrides={"port": 6000, "host": None})
    assert settings.port == 6000
    assert settings.host == "0.0.0.0"


def test_file_keys_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "backend.toml"
    config.write_text("prot = 4000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ=base_env(tmp_path))
    assert caught.value.problems == ["PROT: is not a setting this program knows"]


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ=base_env(tmp_path))
    bad = tmp_path / "bad.toml"
    bad.write_text("port = \n")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(bad, environ=base_env(tmp_path))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {
        "JWT_SECRET": "changeme",
        "HMAC_SECRET_PREVIOUS": "x" * 40,
        "PORT": "seventy",
        "QR_EXPIRATION_SECONDS": "1",
        "SCANCTL_DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    problems = caught.value.problems
    names = {p.split(":", 1)[0] for p in problems}
    assert {"HMAC_SECRET", "JWT_SECRET", "HMAC_SECRET_PREVIOUS", "PORT"} <= names
    assert "QR_EXPIRATION_SECONDS" in names
    assert any(p.startswith("HMAC_SECRET: is required") for p in problems)
    assert any("JWT_SECRET: is 8 characters long" in p for p in problems)
    assert any("JWT_SECRET: is a known placeholder" in p for p in problems)


def test_secrets_must_differ(tmp_path: Path) -> None:
    same = fresh_secret()
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=base_env(tmp_path, HMAC_SECRET=same, JWT_SECRET=same))
    assert caught.value.problems == ["JWT_SECRET: must differ from HMAC_SECRET"]


def test_manifest_signing_key_is_checked_by_the_manifests_loader(tmp_path: Path) -> None:
    import base64
    import os

    good = base64.b64encode(os.urandom(32)).decode()
    assert load_settings(environ=base_env(tmp_path, MANIFEST_SIGNING_KEY=good))
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=base_env(tmp_path, MANIFEST_SIGNING_KEY="not a key"))
    assert caught.value.problems[0].startswith("MANIFEST_SIGNING_KEY: is neither")
    assert "not a key" not in str(caught.value.problems)
    with pytest.raises(ConfigError, match="MANIFEST_SIGNING_KEY: decodes from base64 to 16 bytes"):
        load_settings(
            environ=base_env(
                tmp_path, MANIFEST_SIGNING_KEY=base64.b64encode(os.urandom(16)).decode()
            )
        )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"HMAC_SECRET": None, "JWT_SECRET": None},
            ["HMAC_SECRET: is required", "JWT_SECRET: is required"],
        ),
        ({"HMAC_SECRET": "tooshort"}, ["HMAC_SECRET: is 8 characters long"]),
        (
            {"JWT_SECRET": "default-secret-change-in-production"},
            ["JWT_SECRET: is a known placeholder"],
        ),
        (
            {"HMAC_SECRET": "changeme", "JWT_SECRET": "z" * 40},
            [
                "HMAC_SECRET: is 8 characters long",
                "HMAC_SECRET: is a known placeholder",
                "JWT_SECRET: is guessable: an entropy estimate gives about",
            ],
        ),
    ],
)
def test_server_refuses_to_start_and_binds_nothing(
    tmp_path: Path, change: dict[str, str | None], expected: list[str]
) -> None:
    env = base_env(tmp_path)
    for key, value in change.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    port = free_port()
    result = subprocess.run(
        [SCANCTL, "server", "run", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    for line in expected:
        assert line in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not port_is_open(port)
    assert not (tmp_path / "backend.sqlite3").exists()
    for value in change.values():
        if value:
            assert value not in result.stderr  # the refused secret itself is never echoed


def test_server_run_reads_its_config_file(tmp_path: Path) -> None:
    config = tmp_path / "backend.toml"
    config.write_text('jwt_secret = "changeme"\nport = 70000\n')
    config.chmod(0o600)
    env = base_env(tmp_path)
    del env["JWT_SECRET"]
    result = subprocess.run(
        [SCANCTL, "server", "run", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "JWT_SECRET: is a known placeholder" in result.stderr
    assert "PORT: Input should be less than or equal to 65535" in result.stderr


def test_other_settings_are_checked_before_start(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        LOG_LEVEL="loud",
        DEVICE_REGISTRATION_LIMIT="lots",
        RATE_LIMIT_STORAGE_URL="memcached://127.0.0.1",
        DATABASE_URL="no-such-db://x",
        MAX_BODY_BYTES="12",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    names = [p.split(":", 1)[0] for p in caught.value.problems]
    assert sorted(names) == [
        "DATABASE_URL",
        "DEVICE_REGISTRATION_LIMIT",
        "LOG_LEVEL",
        "MAX_BODY_BYTES",
        "RATE_LIMIT_STORAGE_URL",
    ]
    good = load_settings(
        environ=base_env(
            tmp_path,
            DATABASE_URL="postgresql+psycopg://scanctl@127.0.0.1/scanctl",
            RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:6379/0",
            DEVICE_REGISTRATION_LIMIT="20 per hour",
        )
    )
    assert not good.should_auto_migrate


def test_manifest_signing_key_is_required() -> None:
    import scanctl.backend.settings as settings_module

    assert settings_module.MANIFEST_SIGNING_KEY_REQUIRED


def test_a_missing_manifest_signing_key_is_named_with_the_other_problems(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    del env["JWT_SECRET"]
    del env["MANIFEST_SIGNING_KEY"]
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    names = [p.split(":", 1)[0] for p in caught.value.problems]
    assert names == ["JWT_SECRET", "MANIFEST_SIGNING_KEY"]
