"""The shared plumbing: the one error→exit-code mapping, TOML writing, expiry checks."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from scanctl.cli.common import CliError, Target, check_token_expiry, exit_code_for
from scanctl.cli.config_file import ConfigFileError, toml_dumps
from scanctl.cli.exit_codes import ExitCode
from scanctl.client import (
    BadRequest,
    CircuitOpen,
    ConnectFailed,
    Forbidden,
    InvalidResponse,
    NotAuthorized,
    NotFound,
    ServerError,
    ServiceUnavailable,
    TimedOut,
)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CliError("x", ExitCode.USAGE), ExitCode.USAGE),
        (ConfigFileError("bad file"), ExitCode.USAGE),
        (ConnectFailed("refused"), ExitCode.UNREACHABLE),
        (TimedOut("slow"), ExitCode.UNREACHABLE),
        (CircuitOpen("open", retry_in=1.0), ExitCode.UNREACHABLE),
        (ServiceUnavailable(503, "UNAVAILABLE", "draining"), ExitCode.UNREACHABLE),
        (NotAuthorized(401, "UNAUTHORIZED", "token expired"), ExitCode.NOT_AUTHORIZED),
        (Forbidden(403, "FORBIDDEN", "venue"), ExitCode.NOT_AUTHORIZED),
        (BadRequest(422, "INVALID", "bad"), ExitCode.USAGE),
        (NotFound(404, "NOT_FOUND", "no"), ExitCode.FAILED),
        (ServerError(500, "ERROR", "boom"), ExitCode.FAILED),
        (InvalidResponse("not json"), ExitCode.FAILED),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (typer.Abort(), ExitCode.INTERRUPTED),
    ],
)
def test_exit_code_for(exc: BaseException, code: ExitCode) -> None:
    assert exit_code_for(exc) is code


def test_exit_codes_are_the_documented_ones() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "FAILED": 1,
        "USAGE": 2,
        "UNREACHABLE": 3,
        "NOT_AUTHORIZED": 4,
        "INTERRUPTED": 130,
    }


_keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)
_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))),
)
_tables = st.recursive(
    st.dictionaries(_keys, _scalars, max_size=4),
    lambda inner: st.dictionaries(_keys, st.one_of(_scalars, inner), max_size=4),
    max_leaves=12,
)


@given(_tables)
def test_toml_dumps_round_trips(data: dict[str, Any]) -> None:
    assert tomllib.loads(toml_dumps(data)) == data


def _target(token: str | None) -> Target:
    from pathlib import Path

    return Target("c", "http://x", token, None, None, None, None, Path("/d"), {"token": "file"})


def _jwt(expires: datetime) -> str:
    return jwt.encode({"sub": "me", "exp": int(expires.timestamp())}, "k" * 32, algorithm="HS256")


def test_an_expired_token_exits_4_before_any_call() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(CliError) as caught:
        check_token_expiry(_target(_jwt(now - timedelta(seconds=1))), now=now)
    assert caught.value.code is ExitCode.NOT_AUTHORIZED
    assert "expired at 2030-01-01 11:59 UTC" in caught.value.message
    assert "scanctl login --context c" in (caught.value.hint or "")


def test_a_token_about_to_expire_gets_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    check_token_expiry(_target(_jwt(now + timedelta(minutes=3))), now=now)
    check_token_expiry(_target(_jwt(now + timedelta(hours=3))), now=now)
    check_token_expiry(_target("not-a-jwt"), now=now)
    err = capsys.readouterr().err
    assert err.count("Warning: the token expires in 3 min") == 1


def test_messages_of_client_errors() -> None:
    from scanctl.cli.common import describe_error

    message, hint = describe_error(NotAuthorized(401, "UNAUTHORIZED", "token expired"))
    assert message == "the token has expired"
    assert hint is not None and "scanctl login" in hint
    message, hint = describe_error(Forbidden(403, "FORBIDDEN", "not allowed for this venue"))
    assert message == "not allowed: not allowed for this venue"
    message, _ = describe_error(ConnectFailed("cannot reach the backend at http://h:1: refused"))
    assert message == "cannot reach the backend at http://h:1: refused"
    message, _ = describe_error(CliError("plain", hint="do this"))
    assert message == "plain"
