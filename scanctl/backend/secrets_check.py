"""Is a configured secret strong enough to run with? Pure checks, one message per problem."""

from __future__ import annotations

import itertools
import re

__all__ = ["MIN_SECRET_LENGTH", "generate_hint", "secret_problems"]

MIN_SECRET_LENGTH = 32

# Fragments of the placeholders that get copied out of examples and tutorials. Compared
# against the value lower-cased with everything but letters and digits removed, so
# `Default_Secret-Change-In-Production` is caught as well.
_PLACEHOLDER_FRAGMENTS = (
    "defaultsecret",
    "changeinproduction",
    "changeme",
    "changethis",
    "yoursecret",
    "secretkey",
    "supersecret",
    "replaceme",
    "placeholder",
    "notasecret",
    "insecure",
    "password",
    "example",
)
_PLACEHOLDER_WORDS = frozenset({"secret", "changeme", "password", "test", "default", "jwt", "hmac"})
_MIN_DISTINCT_CHARACTERS = 10
_MAX_PERIOD = 8


def generate_hint() -> str:
    """How to make a good secret, quoted in every message about a bad one."""
    return "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def secret_problems(value: str) -> list[str]:
    """Why this value is not an acceptable secret; empty when it is.

    Refused: shorter than 32 characters, a known placeholder, one repeated character,
    a short repeated pattern, an arithmetic run (`abcdef…`, `012345…`) or fewer than
    ten distinct characters.
    """
    problems: list[str] = []
    stripped = value.strip()
    if stripped != value:
        problems.append("has leading or trailing whitespace")
    if len(value) < MIN_SECRET_LENGTH:
        problems.append(f"is {len(value)} characters long, at least {MIN_SECRET_LENGTH} needed")
    normalized = re.sub(r"[^a-z0-9]", "", value.lower())
    if normalized in _PLACEHOLDER_WORDS or any(f in normalized for f in _PLACEHOLDER_FRAGMENTS):
        problems.append("is a known placeholder, not a secret")
    elif value and len(set(value)) == 1:
        problems.append("is one character repeated")
    elif _is_periodic(value):
        problems.append("is a short pattern repeated")
    elif _is_arithmetic_run(value):
        problems.append("is a run of consecutive characters")
    elif value and len(set(value)) < _MIN_DISTINCT_CHARACTERS:
        problems.append(
            f"uses only {len(set(value))} distinct characters (too little variety to be random)"
        )
    return problems


def _is_periodic(value: str) -> bool:
    for period in range(1, min(_MAX_PERIOD, len(value) // 2) + 1):
        unit = value[:period]
        if (unit * (len(value) // period + 1))[: len(value)] == value:
            return True
    return False


def _is_arithmetic_run(value: str) -> bool:
    if len(value) < 3:
        return False
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(value)}
    return len(steps) == 1
