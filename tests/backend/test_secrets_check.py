"""Weak-secret detection: what is refused, and that real random secrets pass."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.secrets_check import (
    MIN_ESTIMATED_BITS,
    MIN_SECRET_LENGTH,
    estimate,
    secret_problems,
)


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
        ("a" * 64, "repeated characters or patterns"),
        ("ab" * 32, "repeated characters or patterns"),
        ("abcdefghijklmnopqrstuvwxyz{|}~\x7f", "consecutive"),
        ("aabbccddaabbccddaabbccddaabbccddx", "guessable"),
        # The examples: runs across the alphabets, and keyboard walks.
        ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "a run of consecutive characters"),
        ("0123456789abcdefghijklmnopqrstuvwxyz", "a run of consecutive characters"),
        ("qwertyuiop[]asdfghjkl;zxcvbnm,./1234", "a keyboard walk"),
        ("1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.", "a keyboard walk"),
        ("zaq12wsxcde34rfvbgt56yhnmju78ik,.lo9", "a keyboard walk"),
        (" " + secrets.token_urlsafe(40), "whitespace"),
    ],
)
def test_weak_secrets_are_refused_with_a_reason(value: str, expected: str) -> None:
    problems = secret_problems(value)
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)  # one line per problem


def test_a_guessable_secret_says_how_guessable_in_one_line() -> None:
    problems = secret_problems("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ")
    assert len(problems) == 1
    assert problems[0].startswith("is guessable: an entropy estimate gives about ")
    assert f"at least {MIN_ESTIMATED_BITS} needed" in problems[0]


def test_a_real_random_secret_is_estimated_well_above_the_bar() -> None:
    bits, _patterns = estimate(secrets.token_urlsafe(48))
    assert bits >= 2 * MIN_ESTIMATED_BITS


@pytest.mark.parametrize("nbytes", [24, 32, 48, 64])
def test_generated_secrets_pass(nbytes: int) -> None:
    assert secret_problems(secrets.token_urlsafe(nbytes)) == []
    assert secret_problems(secrets.token_hex(nbytes)) == []


@given(st.text(max_size=MIN_SECRET_LENGTH - 1))
def test_anything_short_is_refused(value: str) -> None:
    assert secret_problems(value)


def test_real_random_secrets_of_the_least_length_pass() -> None:
    # 32 random characters are estimated well above the bar, whatever short runs they hold.
    for _ in range(200):
        assert secret_problems(secrets.token_hex(16)) == []
        assert secret_problems(secrets.token_urlsafe(24)) == []


@given(st.binary(min_size=32, max_size=64))
def test_degenerate_hex_is_refused_only_as_guessable(raw: bytes) -> None:
    assert all(p.startswith("is guessable") for p in secret_problems(raw.hex()))
