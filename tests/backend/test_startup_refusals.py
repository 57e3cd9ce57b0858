"""`scanctl server run` on a PostgreSQL role that row-level security would not hold: a real
server process refuses with exit status 2 and one line per problem, before the app starts
(no traceback from the lifespan, no port bound)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.backend.helpers import SCANCTL, base_env, free_port, port_is_open


def _run(tmp_path: Path, database_url: str) -> tuple[int, list[str], int]:
    port = free_port()
    result = subprocess.run(
        [SCANCTL, "server", "run", "--port", str(port)],
        env=base_env(tmp_path, DATABASE_URL=database_url, LOG_LEVEL="info"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "application startup" not in result.stderr  # uvicorn never started the app
    assert result.stdout == ""
    assert not port_is_open(port)
    return result.returncode, result.stderr.splitlines(), port


def _problems(lines: list[str]) -> list[str]:
    """The problem lines under the `Error:` line (the last line is the hint)."""
    assert lines[0] == "Error: the configuration cannot be used:", lines
    assert lines[-1].startswith("Hint: "), lines
    return [line.strip() for line in lines[1:-1]]


def test_a_superuser_is_refused_with_exit_2_and_one_line(
    app_role_url: str, postgres_url: str, tmp_path: Path
) -> None:
    code, lines, _port = _run(tmp_path, postgres_url)  # the migrating superuser
    assert code == 2, lines
    problems = _problems(lines)
    assert len(problems) == 1, problems
    assert problems[0].startswith("DATABASE_URL: role postgres is a superuser"), problems


def test_a_table_owner_is_refused_with_exit_2_and_one_line_each(
    app_role_url: str, postgres_url: str, tmp_path: Path
) -> None:
    role = make_url(app_role_url).username
    owner = create_engine(postgres_url)
    try:
        with owner.begin() as conn:
            conn.execute(text(f"ALTER TABLE policies OWNER TO {role}"))
            conn.execute(text("ALTER TABLE nonces NO FORCE ROW LEVEL SECURITY"))
    finally:
        owner.dispose()
    code, lines, _port = _run(tmp_path, app_role_url)
    assert code == 2, lines
    problems = _problems(lines)
    assert len(problems) == 2, problems
    assert f"role {role} owns policies" in problems[0], problems
    assert "forced on nonces" in problems[1], problems


def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    code, lines, _port = _run(tmp_path, url)
    assert code == 3, lines
    assert lines[0].startswith("Error: cannot reach the database: "), lines
    assert len(lines) == 1, lines
