"""Event keys and the MAC of rotating tokens.

The event key derivation is a published contract — other systems that issue codes for
our gates compute the same key — so it must never change:

    event_key = HKDF-SHA256(ikm=HMAC_SECRET (UTF-8), salt=none,
                            info="scanctl qr v1|<tenantId>|<eventId>" (UTF-8), length=32)
    mac       = HMAC-SHA256(event_key, "<ticketId>:<timestampMs>:<nonce>"), lowercase hex
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scanctl.core.tokens import RotatingCode, format_token

__all__ = [
    "EVENT_KEY_LENGTH",
    "compute_mac",
    "derive_event_key",
    "mint_token",
    "new_nonce",
    "verify_mac",
]

EVENT_KEY_LENGTH = 32
_MAC_HEX_LENGTH = 64


def derive_event_key(master_secret: str, tenant_id: str, event_id: str) -> bytes:
    """The 32-byte key that signs an event's rotating codes (see the module docstring)."""
    info = f"scanctl qr v1|{tenant_id}|{event_id}".encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=EVENT_KEY_LENGTH, salt=None, info=info)
    return hkdf.derive(master_secret.encode())


def compute_mac(event_key: bytes, signed_part: str) -> str:
    """HMAC-SHA256 of the token's signed part, as lowercase hex."""
    return hmac.digest(event_key, signed_part.encode("ascii"), "sha256").hex()


def verify_mac(code: RotatingCode, event_keys: Iterable[bytes]) -> bool:
    """Whether any of the keys (current, then previous during rotation) made this MAC.

    Constant time per key: the length is checked first, then ``hmac.compare_digest``.
    """
    if len(code.mac) != _MAC_HEX_LENGTH:
        return False
    try:
        presented = bytes.fromhex(code.mac)
    except ValueError:
        return False
    signed = code.signed_part.encode("ascii")
    matched = False
    for key in event_keys:
        mac = _keyed(key).copy()
        mac.update(signed)
        # No early exit: every key is tried so timing does not tell which one matched.
        matched |= hmac.compare_digest(mac.digest(), presented)
    return matched


@functools.lru_cache(maxsize=64)
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC already keyed with ``key``: copying it skips the key schedule per scan.

    A gate holds one or two event keys, a backend a few per live event; 64 covers both.
    """
    return hmac.new(key, digestmod=hashlib.sha256)


def new_nonce() -> str:
    """Eight random bytes as 16 lowercase hex characters."""
    return secrets.token_hex(8)


def mint_token(event_key: bytes, ticket_id: str, timestamp_ms: int, nonce: str) -> str:
    """A complete rotating token for a ticket at a moment, with the given nonce."""
    signed_part = f"{ticket_id}:{timestamp_ms:013d}:{nonce}"
    return format_token(ticket_id, timestamp_ms, nonce, compute_mac(event_key, signed_part))
