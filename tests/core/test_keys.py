"""Event keys and MACs: the derivation is a contract, checked against an independent HKDF."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from scanctl.core.keys import (
    EVENT_KEY_LENGTH,
    compute_mac,
    derive_event_key,
    mint_token,
    new_nonce,
    verify_mac,
)
from scanctl.core.tokens import RotatingCode, parse_code

SECRET = "k7W2pX9vQ4mZ8rT1yU6bN3cF5hJ0dS2aL9gE4wR7tY1u"
TENANT = "3f2b8c1e-1111-4a4a-8b8b-000000000001"
EVENT = "9d8c7b6a-2222-4b4b-9c9c-000000000002"


def independent_hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 written out with the standard library only, for the contract test."""
    prk = hmac.new(b"\x00" * hashlib.sha256().digest_size, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def test_event_key_matches_the_published_derivation() -> None:
    info = f"scanctl qr v1|{TENANT}|{EVENT}".encode()
    expected = independent_hkdf_sha256(SECRET.encode(), info, 32)
    assert derive_event_key(SECRET, TENANT, EVENT) == expected
    assert len(expected) == EVENT_KEY_LENGTH


def test_event_keys_differ_per_event_and_tenant() -> None:
    base = derive_event_key(SECRET, TENANT, EVENT)
    assert derive_event_key(SECRET, TENANT, "other-event") != base
    assert derive_event_key(SECRET, "other-tenant", EVENT) != base


def test_a_token_minted_independently_verifies() -> None:
    key = derive_event_key(SECRET, TENANT, EVENT)
    signed = "0a1b2c3d:1764320000000:0011223344556677"
    mac = hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()
    code = parse_code(f"{signed}:{mac}")
    assert isinstance(code, RotatingCode)
    assert verify_mac(code, [key])
    assert compute_mac(key, signed) == mac


def test_minted_tokens_verify_with_their_key_only() -> None:
    key = derive_event_key(SECRET, TENANT, EVENT)
    other = derive_event_key(SECRET, TENANT, "another")
    code = parse_code(mint_token(key, "0a1b2c3d", 1764320000000, new_nonce()))
    assert isinstance(code, RotatingCode)
    assert verify_mac(code, [key])
    assert not verify_mac(code, [other])
    assert not verify_mac(code, [])


def test_previous_key_still_verifies_during_rotation() -> None:
    old = derive_event_key(SECRET, TENANT, EVENT)
    new = derive_event_key(SECRET[::-1], TENANT, EVENT)
    code = parse_code(mint_token(old, "0a1b2c3d", 1764320000000, new_nonce()))
    assert isinstance(code, RotatingCode)
    assert verify_mac(code, [new, old])


def test_a_mac_of_the_wrong_length_is_refused_without_comparing() -> None:
    key = derive_event_key(SECRET, TENANT, EVENT)
    code = RotatingCode("0a1b2c3d", 1764320000000, "0011223344556677", "ab" * 31)
    assert not verify_mac(code, [key])


def test_nonces_are_sixteen_lowercase_hex_and_differ() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 16 and n == n.lower() and int(n, 16) >= 0 for n in nonces)


@given(st.integers(min_value=0, max_value=9_999_999_999_999), st.data())
def test_changing_any_single_character_breaks_the_mac(timestamp: int, data: st.DataObject) -> None:
    key = derive_event_key(SECRET, TENANT, EVENT)
    token = mint_token(key, "0a1b2c3d", timestamp, "0011223344556677")
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("0123456789abcdef:"))
    if token[index] == replacement:
        return
    mutated = token[:index] + replacement + token[index + 1 :]
    code = parse_code(mutated)
    assert not (isinstance(code, RotatingCode) and verify_mac(code, [key]))


def test_a_mac_that_is_not_hex_is_refused() -> None:
    key = derive_event_key(SECRET, TENANT, EVENT)
    code = RotatingCode("0a1b2c3d", 1764320000000, "0011223344556677", "zz" * 32)
    assert not verify_mac(code, [key])
