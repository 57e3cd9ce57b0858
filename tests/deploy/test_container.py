"""The container story (deploy/container): what can be checked without a Docker engine.

Checked here: the compose file parses, every file it and the Dockerfile name exists in
the repository, every setting it gives the backend is one the backend reads (and the
backend accepts the whole environment), no secret has a default, the proxy sends to
both instances on the port they listen on, and the PostgreSQL role script, run against
a real server, gives roles that migrate and serve with row-level security holding.
Not checked here (no engine): that the image builds and the stack starts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scanctl.backend.db import create_database, upgrade
from scanctl.backend.db.guard import isolation_problems
from scanctl.backend.settings import Settings, load_settings
from tests.backend.helpers import fresh_secret, fresh_signing_key
from tests.backend.postgres_kit import ADMIN_URL, fresh_database
from tests.services import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "deploy" / "container"
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::([?-])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((HERE / "compose.yaml").read_text())
    return loaded


def _interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if name in env:
            return env[name]
        assert kind == "-", f"{name} has no value and no default"
        return rest

    return _VARIABLE.sub(one, value)


def test_the_compose_file_runs_two_backends_behind_one_port_with_postgres_and_redis() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "backend-1", "backend-2", "proxy"} <= set(services)
    assert services["proxy"]["ports"] == ["${SCANCTL_PUBLISHED_PORT:-3009}:3009"]
    published = [name for name, service in services.items() if service.get("ports")]
    assert published == ["proxy"]  # the instances are reached through it only
    build = services["migrate"]["build"]
    assert (HERE / build["context"] / build["dockerfile"]).resolve() == HERE / "Dockerfile"
    for name in ("backend-1", "backend-2"):
        assert services[name]["image"] == services["migrate"]["image"]
    upstream = re.findall(r"server (backend-\d):(\d+)", (HERE / "nginx.conf").read_text())
    port = services["backend-1"]["environment"]["PORT"]
    assert upstream == [("backend-1", port), ("backend-2", port)]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (HERE / source).exists(), source


def test_secrets_have_no_default_anywhere() -> None:
    raw = (HERE / "compose.yaml").read_text()
    for name in (
        "HMAC_SECRET",
        "JWT_SECRET",
        "MANIFEST_SIGNING_KEY",
        "POSTGRES_PASSWORD",
        "SCANCTL_OWNER_PASSWORD",
        "SCANCTL_APP_PASSWORD",
    ):
        uses = [m for m in _VARIABLE.finditer(raw) if m.group(1) == name]
        assert uses, name
        assert all(m.group(2) == "?" for m in uses), name  # required, never defaulted
    dockerfile = (HERE / "Dockerfile").read_text()
    assert not re.search(r"(SECRET|KEY|PASSWORD)\s*=", dockerfile)


@pytest.mark.parametrize("service", ["backend-1", "backend-2", "migrate"])
def test_the_backend_reads_and_accepts_every_setting_compose_gives_it(
    service: str, tmp_path: Path
) -> None:
    given = {
        "HMAC_SECRET": fresh_secret(),
        "JWT_SECRET": fresh_secret(),
        "MANIFEST_SIGNING_KEY": fresh_signing_key(),
        "SCANCTL_APP_PASSWORD": secrets.token_urlsafe(16),
        "SCANCTL_OWNER_PASSWORD": secrets.token_urlsafe(16),
    }
    environment = _compose()["services"][service]["environment"]
    env = {key: _interpolate(str(value), given) for key, value in environment.items()}
    known = {name.upper() for name in Settings.model_fields} | {"SCANCTL_DATA_DIR"}
    assert set(env) <= known, set(env) - known
    settings = load_settings(environ={**env, "SCANCTL_DATA_DIR": str(tmp_path)})
    assert make_url(settings.effective_database_url).host == "postgres"
    assert settings.redis_url == "redis://redis:6379/0"
    assert (settings.host, settings.port) == ("0.0.0.0", 3009)
    assert settings.should_auto_migrate is False  # the migrate service does that, as owner


def test_the_dockerfile_copies_only_files_that_exist_and_runs_the_server() -> None:
    dockerfile = (HERE / "Dockerfile").read_text()
    sources = [
        part
        for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE)
        for part in line.split()[:-1]
        if not part.startswith("--")
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
    assert 'CMD ["scanctl", "server", "run"]' in dockerfile
    assert re.search(r"^EXPOSE 3009$", dockerfile, re.MULTILINE)
    assert re.search(r"^USER scanctl$", dockerfile, re.MULTILINE)  # not root
    # The install command names the extras the compose stack needs.
    assert "-c constraints.txt '.[postgres,redis]'" in dockerfile


def test_the_role_script_gives_roles_that_migrate_and_serve_isolated(tmp_path: Path) -> None:
    if shutil.which("psql") is None:
        service_unavailable("psql is not installed")
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"scanctl_owner_{suffix}", f"scanctl_app_{suffix}"
    admin = make_url(ADMIN_URL)
    with fresh_database() as url:
        database = make_url(url).database
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "PGHOST": admin.host or "127.0.0.1",
            "PGPORT": str(admin.port or 5432),
            "POSTGRES_USER": admin.username or "postgres",
            "POSTGRES_DB": str(database),
            "SCANCTL_OWNER_ROLE": owner,
            "SCANCTL_APP_ROLE": app,
            "SCANCTL_OWNER_PASSWORD": secrets.token_urlsafe(16),
            "SCANCTL_APP_PASSWORD": secrets.token_urlsafe(16),
        }
        try:
            script = HERE / "initdb" / "10-scanctl-roles.sh"
            ran = subprocess.run(
                ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60
            )
            assert ran.returncode == 0, ran.stderr
            owner_url = make_url(url).set(username=owner).render_as_string(hide_password=False)
            app_url = make_url(url).set(username=app).render_as_string(hide_password=False)
            migrating = create_database(owner_url)
            try:
                upgrade(migrating.engine)
            finally:
                migrating.close()
            serving = create_database(app_url)
            try:
                assert isolation_problems(serving.engine) == []
            finally:
                serving.close()
        finally:
            engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                    for role in (app, owner):
                        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
            finally:
                engine.dispose()
