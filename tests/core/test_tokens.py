"""The token codec: strict on the rotating format, never raising on anything."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from scanctl.core.tokens import (
    MAX_CODE_LENGTH,
    InvalidCode,
    RotatingCode,
    StaticCode,
    format_token,
    parse_code,
    static_code_hash,
)

VALID = "0a1b2c3d:1764320000000:0011223344556677:" + "ab" * 32

hex_lower = st.text(alphabet="0123456789abcdef", min_size=1, max_size=1)


@st.composite
def rotating_tokens(draw: st.DrawFn) -> str:
    ticket = draw(st.text(alphabet="0123456789abcdef", min_size=8, max_size=8))
    timestamp = draw(st.integers(min_value=0, max_value=9_999_999_999_999))
    nonce = draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16))
    mac = draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
    return format_token(ticket, timestamp, nonce, mac)


def test_a_valid_token_parses_into_its_parts() -> None:
    code = parse_code(VALID)
    signed = "0a1b2c3d:1764320000000:0011223344556677"
    assert code == RotatingCode("0a1b2c3d", 1764320000000, "0011223344556677", "ab" * 32, signed)
    assert isinstance(code, RotatingCode)
    assert code.signed_part == "0a1b2c3d:1764320000000:0011223344556677"


def test_bytes_parse_like_text() -> None:
    assert parse_code(VALID.encode()) == parse_code(VALID)


def test_timestamps_keep_their_leading_zeros_in_the_signed_part() -> None:
    token = format_token("0a1b2c3d", 42, "0011223344556677", "ab" * 32)
    code = parse_code(token)
    assert isinstance(code, RotatingCode)
    assert code.signed_part == "0a1b2c3d:0000000000042:0011223344556677"


def test_uppercase_hex_is_refused() -> None:
    assert isinstance(parse_code(VALID.upper()), InvalidCode)


def test_a_trailing_newline_is_refused() -> None:
    assert isinstance(parse_code(VALID + "\n"), InvalidCode)


def test_non_ascii_digits_are_refused() -> None:
    arabic_indic_one = "\u0661"
    assert isinstance(parse_code(VALID.replace("1764", arabic_indic_one + "764")), InvalidCode)


def test_non_ascii_bytes_are_refused() -> None:
    assert parse_code(b"\xff\xfe" * 20) == InvalidCode("not ASCII")


def test_over_long_input_is_refused_before_parsing() -> None:
    assert parse_code("a" * (MAX_CODE_LENGTH + 1)) == InvalidCode("too long")
    assert parse_code(b"a" * (MAX_CODE_LENGTH + 1)) == InvalidCode("too long")


def test_a_static_secret_is_known_only_by_its_hash() -> None:
    secret = "Zx9_k3Jq-LmN0pQrStUvWxYz12"
    code = parse_code(secret)
    assert code == StaticCode(static_code_hash(secret))
    assert isinstance(code, StaticCode)
    assert secret not in code.secret_hash
    assert len(code.secret_hash) == 64


def test_a_short_static_secret_is_refused() -> None:
    assert isinstance(parse_code("short-secret"), InvalidCode)


@given(st.text(max_size=600) | st.binary(max_size=600))
def test_parsing_never_raises(data: str | bytes) -> None:
    assert isinstance(parse_code(data), RotatingCode | StaticCode | InvalidCode)


@given(rotating_tokens())
def test_format_of_parse_is_identity_on_valid_tokens(token: str) -> None:
    code = parse_code(token)
    assert isinstance(code, RotatingCode)
    assert format_token(code.ticket_id, code.timestamp_ms, code.nonce, code.mac) == token


@given(rotating_tokens(), st.data())
def test_any_character_outside_the_alphabet_breaks_the_format(
    token: str, data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    bad = data.draw(st.sampled_from(string.ascii_uppercase + "g:z-_ "))
    if token[index] == ":" and bad == ":":
        return
    mutated = token[:index] + bad + token[index + 1 :]
    assert not isinstance(parse_code(mutated), RotatingCode)
