"""Is a configured secret strong enough to run with? Pure checks, one message per problem."""

from __future__ import annotations

import math
import re

__all__ = [
    "MIN_ESTIMATED_BITS",
    "MIN_SECRET_LENGTH",
    "estimate",
    "generate_hint",
    "secret_problems",
]

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
MIN_ESTIMATED_BITS = 80
"""The least a secret's entropy estimate may give: 80 bits are out of reach of guessing.
A random 32-character secret (`secrets.token_hex(16)`, `token_urlsafe(24)`) is estimated
at about 100 bits or more; runs, keyboard walks and repeated patterns at 10 to 77."""
_ESTIMATED_CHARACTERS = 72  # zxcvbn's own limit: the first 72 characters are estimated
_PATTERNS = {
    "sequence": "a run of consecutive characters",
    "spatial": "a keyboard walk",
    "repeat": "repeated characters or patterns",
    "dictionary": "common words or passwords",
    "date": "a date",
    "regex": "a year or similar",
}


def generate_hint() -> str:
    """How to make a good secret, quoted in every message about a bad one."""
    return "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def secret_problems(value: str) -> list[str]:
    """Why this value is not an acceptable secret; empty when it is. One line per problem.

    Refused: leading or trailing whitespace, shorter than 32 characters, a known
    placeholder, or guessable: an entropy estimate (zxcvbn, which knows runs, keyboard
    walks, repeats, dates and common words) of fewer than `MIN_ESTIMATED_BITS` bits.
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
    elif value:
        bits, patterns = estimate(value)
        if bits < MIN_ESTIMATED_BITS:
            found = f" ({', '.join(patterns)})" if patterns else ""
            problems.append(
                f"is guessable: an entropy estimate gives about {bits:.0f} bits, at least"
                f" {MIN_ESTIMATED_BITS} needed{found}"
            )
    return problems


def estimate(value: str) -> tuple[float, list[str]]:
    """The entropy estimate of ``value`` in bits, and the guessable patterns it found."""
    from zxcvbn import zxcvbn  # about 50 ms to import: only when a secret is checked

    result = zxcvbn(value[:_ESTIMATED_CHARACTERS])
    bits = float(result["guesses_log10"]) * math.log2(10)
    patterns: list[str] = []
    for match in result["sequence"]:
        described = _PATTERNS.get(str(match["pattern"]))
        if described is not None and described not in patterns:
            patterns.append(described)
    return bits, patterns
