"""Settings as shown: no password of any URL or DSN ever printed (`server check-config`)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.masking import MASK, mask_url
from tests.backend.helpers import base_env
from tests.backend.test_cli import run

_passwords = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=6, max_size=24
).filter(lambda p: p.strip() == p and MASK not in p)


@given(
    password=_passwords,
    scheme=st.sampled_from(["redis", "rediss", "postgresql+psycopg", "https", "memcached"]),
    user=st.sampled_from(["", "u", "default"]),
)
def test_a_url_password_is_never_shown(password: str, scheme: str, user: str) -> None:
    quoted = quote(password, safe="")
    url = f"{scheme}://{user}:{quoted}@db.example:6379/0?sslmode=require"
    shown = mask_url(url)
    assert quoted not in shown and password not in shown.replace("db.example", "")
    assert shown == f"{scheme}://{user}:{MASK}@db.example:6379/0?sslmode=require"


@given(password=st.text(alphabet="abcdefXYZ0123456789-._~!", min_size=6, max_size=20))
def test_query_and_keyword_dsn_passwords_are_masked(password: str) -> None:
    assert password not in mask_url(f"postgresql://db/x?password={password}&sslmode=require")
    assert password not in mask_url(f"host=db user=u password={password} dbname=x")
    assert password not in mask_url(f"http://h/x?token={password}")


def test_urls_without_secrets_are_shown_as_given() -> None:
    for url in ("sqlite:////var/lib/scanctl/x.db", "memory://", "redis://h:6379/0", "http://h/"):
        assert mask_url(url) == url


def test_check_config_masks_every_password(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    env.update(
        DATABASE_URL="postgresql+psycopg://scanctl:db-pass-1111@127.0.0.1:5432/x?password=q-2222",
        REDIS_URL="redis://:redis-pass-3333@127.0.0.1:6379/0",
        RATE_LIMIT_STORAGE_URL="redis://limits:limit-pass-4444@127.0.0.1:6379/1",
        TICKET_SERVICE_URL="https://svc:ticket-pass-5555@tickets.example/",
        EVENT_SERVICE_URL="https://svc:event-pass-6666@events.example/",
        UPSTREAM_TOKEN="upstream-token-7777-" + "x" * 24,
        UPSTREAM_TENANT="t1",
    )
    for args in ((), ("--json",)):
        result = run("server", "check-config", *args, env=env)
        assert result.returncode == 0, result.stderr
        for secret in ("1111", "2222", "3333", "4444", "5555", "6666", "7777"):
            assert secret not in result.stdout, (secret, result.stdout)
        for secret in (env["JWT_SECRET"], env["HMAC_SECRET"]):
            assert secret not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["REDIS_URL"] == f"redis://:{MASK}@127.0.0.1:6379/0"
    assert shown["EFFECTIVE_DATABASE_URL"].startswith(f"postgresql+psycopg://scanctl:{MASK}@")
