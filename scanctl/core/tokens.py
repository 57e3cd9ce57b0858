"""The two code formats a gate accepts, parsed strictly and without ever raising.

Rotating QR token: ``<ticketId>:<timestampMs>:<nonce>:<hmac>`` — 8, 13, 16 and 64
characters of lowercase hex (digits for the timestamp), nothing more, nothing less.
Static printed ticket: a long random secret of 24 to 128 URL-safe base64 characters,
looked up by its SHA-256 hash so the manifest never holds the secret itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "MAX_CODE_LENGTH",
    "InvalidCode",
    "ParsedCode",
    "RotatingCode",
    "StaticCode",
    "format_token",
    "parse_code",
    "printed_hash_of",
    "static_code_hash",
    "stored_payload",
]

MAX_CODE_LENGTH = 512
"""Longer inputs are refused before any parsing work is done."""

# ASCII classes on purpose: \d would also match other scripts' digits.
_ROTATING = re.compile(r"[0-9a-f]{8}:[0-9]{13}:[0-9a-f]{16}:[0-9a-f]{64}")
_STATIC = re.compile(r"[A-Za-z0-9_-]{24,128}")
_STORED_PRINTED = re.compile(r"sha256:([0-9a-f]{64})")


class RotatingCode(NamedTuple):
    """A parsed rotating token; ``signed_part`` is exactly the text the MAC covers.

    A NamedTuple rather than a frozen dataclass: one is built per scan on the hot path,
    and tuple construction costs a fraction of a frozen dataclass's ``__init__``.
    """

    ticket_id: str
    timestamp_ms: int
    nonce: str
    mac: str
    signed: str = ""
    """The signed text as scanned (set by parse_code; rebuilt from the parts if empty)."""

    @property
    def signed_part(self) -> str:
        return self.signed or f"{self.ticket_id}:{self.timestamp_ms:013d}:{self.nonce}"


@dataclass(frozen=True, slots=True)
class StaticCode:
    """A static printed-ticket secret, known to the gate only by its hash."""

    secret_hash: str


@dataclass(frozen=True, slots=True)
class InvalidCode:
    """Anything that is neither format; ``detail`` is for server logs, never for users."""

    detail: str


ParsedCode = RotatingCode | StaticCode | InvalidCode


def static_code_hash(secret: str) -> str:
    """The manifest key of a static ticket secret (SHA-256, lowercase hex)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_code(data: str | bytes) -> ParsedCode:
    """Parse a scanned payload. Never raises: unrecognised input is an InvalidCode."""
    if isinstance(data, bytes):
        if len(data) > MAX_CODE_LENGTH:
            return InvalidCode("too long")
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            return InvalidCode("not ASCII")
    if len(data) > MAX_CODE_LENGTH:
        return InvalidCode("too long")
    match = _ROTATING.fullmatch(data)
    if match is not None:
        # Fixed offsets: the pattern has already pinned every field's length.
        return RotatingCode(data[:8], int(data[9:22]), data[23:39], data[40:], data[:39])
    if _STATIC.fullmatch(data) is not None:
        return StaticCode(static_code_hash(data))
    return InvalidCode("unrecognised format")


def stored_payload(code: ParsedCode) -> str | None:
    """What journals and scan tables keep instead of a printed ticket's code: its hash
    as ``sha256:<hex>`` (a printed code is a bearer secret valid for the whole event;
    a rotating one expires in seconds and is kept as read). None: keep the payload."""
    if isinstance(code, StaticCode):
        return "sha256:" + code.secret_hash
    return None


def printed_hash_of(stored: str) -> str | None:
    """The printed code's hash a stored payload (`stored_payload`) names, else None."""
    match = _STORED_PRINTED.fullmatch(stored)
    return None if match is None else match.group(1)


def format_token(ticket_id: str, timestamp_ms: int, nonce: str, mac: str) -> str:
    """The wire form of a rotating token (the inverse of parse_code for valid tokens)."""
    return f"{ticket_id}:{timestamp_ms:013d}:{nonce}:{mac}"
