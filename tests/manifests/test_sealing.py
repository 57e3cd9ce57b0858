"""Event keys sealed to one device, for one tenant and event; device key pairs."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.manifests import (
    DeviceKeys,
    KeyMaterialError,
    ManifestVerifier,
    SealError,
    load_x25519_public_key,
    open_event_key,
    open_event_keys,
    public_key_b64,
    seal_event_key,
)
from scanctl.manifests.sealing import SEALED_KEY_LENGTH

from ._support import DEVICE, EVENT_ID, TENANT, Build, verify_kwargs

CONTEXT = {"tenant_id": "tenant-a", "event_id": "event-1", "device_id": "gate-1"}


def test_round_trip(device: DeviceKeys, event_key: bytes) -> None:
    sealed = seal_event_key(event_key, device.exchange_public_b64, **CONTEXT)
    assert len(sealed) == SEALED_KEY_LENGTH
    assert event_key not in sealed
    assert open_event_key(sealed, device.exchange, **CONTEXT) == event_key


def test_each_seal_differs(device: DeviceKeys, event_key: bytes) -> None:
    public = device.exchange.public_key()
    assert seal_event_key(event_key, public, **CONTEXT) != seal_event_key(
        event_key, public, **CONTEXT
    )


def test_another_device_key_cannot_open(device: DeviceKeys, event_key: bytes) -> None:
    sealed = seal_event_key(event_key, device.exchange_public_b64, **CONTEXT)
    with pytest.raises(SealError, match="does not open with this device key"):
        open_event_key(sealed, X25519PrivateKey.generate(), **CONTEXT)


@pytest.mark.parametrize("field", ["tenant_id", "event_id", "device_id"])
def test_moved_to_another_context_cannot_open(
    device: DeviceKeys, event_key: bytes, field: str
) -> None:
    sealed = seal_event_key(event_key, device.exchange_public_b64, **CONTEXT)
    with pytest.raises(SealError):
        open_event_key(sealed, device.exchange, **{**CONTEXT, field: "other"})


def test_every_flipped_byte_fails_to_open(device: DeviceKeys, event_key: bytes) -> None:
    sealed = seal_event_key(event_key, device.exchange_public_b64, **CONTEXT)
    for position in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x01
        with pytest.raises(SealError):
            open_event_key(bytes(damaged), device.exchange, **CONTEXT)


def test_low_order_ephemeral_key_is_a_seal_error(device: DeviceKeys) -> None:
    sealed = bytes((1,)) + bytes(32) + bytes(12 + 48)
    with pytest.raises(SealError, match="invalid ephemeral key"):
        open_event_key(sealed, device.exchange, **CONTEXT)


@settings(max_examples=100)
@given(garbage=st.binary(max_size=200))
def test_garbage_is_a_seal_error(device: DeviceKeys, garbage: bytes) -> None:
    with pytest.raises(SealError):
        open_event_key(garbage, device.exchange, **CONTEXT)


def test_event_key_must_be_32_bytes(device: DeviceKeys) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal_event_key(os.urandom(16), device.exchange_public_b64, **CONTEXT)


def test_device_keys_round_trip_privately() -> None:
    keys = DeviceKeys.generate()
    stored = keys.private_b64()
    again = DeviceKeys.from_private_b64(stored)
    assert again.signing_public_b64 == keys.signing_public_b64
    assert again.exchange_public_b64 == keys.exchange_public_b64
    assert stored["ed25519"] not in repr(keys)
    assert stored["x25519"] not in repr(keys)


def test_public_keys_are_base64_raw_32_bytes() -> None:
    keys = DeviceKeys.generate()
    exchange = load_x25519_public_key(keys.exchange_public_b64)
    assert public_key_b64(exchange) == keys.exchange_public_b64
    assert len(keys.signing_public_b64) == 44
    assert public_key_b64(keys.signing) == keys.signing_public_b64


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"ed25519": "QUJD", "x25519": "QUJD"},
        {"ed25519": "not base64 !", "x25519": "x"},
        {"ed25519": 1, "x25519": 2},
    ],
)
def test_bad_device_keys_are_refused(stored: dict[str, object]) -> None:
    with pytest.raises(KeyMaterialError):
        DeviceKeys.from_private_b64(stored)  # type: ignore[arg-type]


@pytest.mark.parametrize("material", ["QUJD", "not base64 !", b"\x00" * 31])
def test_bad_x25519_public_keys_are_refused(material: str | bytes) -> None:
    with pytest.raises(KeyMaterialError):
        load_x25519_public_key(material)


def test_open_event_keys_of_a_verified_header(
    build: Build, verifier: ManifestVerifier, device: DeviceKeys, event_key: bytes, sealed: bytes
) -> None:
    previous = os.urandom(32)
    sealed_previous = seal_event_key(
        previous, device.exchange_public_b64, tenant_id=TENANT, event_id=EVENT_ID, device_id=DEVICE
    )
    wire = build(sealed_event_keys=[sealed, sealed_previous])
    header = verifier.verify(wire, **verify_kwargs()).header
    assert open_event_keys(header, device.exchange) == [event_key, previous]
    with pytest.raises(SealError):
        open_event_keys(header, DeviceKeys.generate().exchange)


def test_a_sealed_key_copied_into_another_devices_manifest_does_not_open(
    build: Build, verifier: ManifestVerifier, device: DeviceKeys, sealed: bytes
) -> None:
    wire = build(sealed_event_keys=sealed, device_id="gate-device-2")
    header = verifier.verify(wire, **verify_kwargs()).header
    with pytest.raises(SealError):
        open_event_keys(header, device.exchange)
