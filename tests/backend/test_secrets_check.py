"""Weak-secret detection: what is refused, and that real random secrets pass."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.secrets_check import MIN_SECRET_LENGTH, secret_problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "at least 32"),
        ("short-but-random-9f8e7d", "at least 32"),
        ("default-secret-change-in-production", "placeholder"),
        ("Default_Secret-Change-In-Production!!", "placeholder"),
        ("changeme", "placeholder"),
        ("changeme-changeme-changeme-changeme", "placeholder"),
        ("secret", "placeholder"),
        ("a" * 64, "one character repeated"),
        ("ab" * 32, "pattern repeated"),
        ("abcdefghijklmnopqrstuvwxyz{|}~\x7f", "consecutive"),
        ("aabbccddaabbccddaabbccddaabbccddx", "distinct characters"),
        (" " + secrets.token_urlsafe(40), "whitespace"),
    ],
)
def test_weak_secrets_are_refused_with_a_reason(value: str, expected: str) -> None:
    problems = secret_problems(value)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("nbytes", [24, 32, 48, 64])
def test_generated_secrets_pass(nbytes: int) -> None:
    assert secret_problems(secrets.token_urlsafe(nbytes)) == []
    assert secret_problems(secrets.token_hex(nbytes)) == []


@given(st.text(max_size=MIN_SECRET_LENGTH - 1))
def test_anything_short_is_refused(value: str) -> None:
    assert secret_problems(value)


@given(st.binary(min_size=32, max_size=64))
def test_random_bytes_as_hex_pass(raw: bytes) -> None:
    value = raw.hex()
    # Random hex of 64+ characters has enough variety; a degenerate draw is allowed to fail
    # only for the variety reason.
    problems = secret_problems(value)
    assert all("distinct" in p or "repeated" in p or "consecutive" in p for p in problems)
