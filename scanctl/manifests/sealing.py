"""Device key pairs, and event keys sealed to one device's X25519 key for one context.

A sealed event key is 93 bytes:

    u8   version (1)
    32   ephemeral X25519 public key
    12   ChaCha20-Poly1305 nonce
    48   the 32-byte event key encrypted, with its 16-byte tag

The AEAD key is HKDF-SHA256 of the X25519 shared secret, salted with the ephemeral and
the device's public keys, with info ``scanctl sealed event key v1|<tenant>|<event>|
<device>``; the same info is the associated data. So the blob opens only with that
device's private key, and only for the tenant, event and device it was sealed for:
copied into another manifest it fails to open.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scanctl.manifests.errors import KeyMaterialError, SealError
from scanctl.manifests.model import ManifestHeader

__all__ = [
    "EVENT_KEY_LENGTH",
    "SEALED_KEY_LENGTH",
    "DeviceKeys",
    "load_x25519_public_key",
    "open_event_key",
    "open_event_keys",
    "public_key_b64",
    "seal_event_key",
]

EVENT_KEY_LENGTH = 32
_VERSION = 1
_NONCE_LENGTH = 12
_RAW = 32
SEALED_KEY_LENGTH = 1 + _RAW + _NONCE_LENGTH + EVENT_KEY_LENGTH + 16


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _b64_raw(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{what} is not standard base64") from None
    if len(raw) != _RAW:
        raise KeyMaterialError(f"{what} is {len(raw)} bytes; expected {_RAW}")
    return raw


def public_key_b64(key: Ed25519PrivateKey | X25519PrivateKey | X25519PublicKey) -> str:
    """The raw public key (of a private key, or itself) as standard base64."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey | X25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_x25519_public_key(material: str | bytes | X25519PublicKey) -> X25519PublicKey:
    """A device's X25519 public key from raw bytes or their standard base64."""
    if isinstance(material, X25519PublicKey):
        return material
    raw = material if isinstance(material, bytes) else _b64_raw(material, "X25519 public key")
    if len(raw) != _RAW:
        raise KeyMaterialError(f"X25519 public key is {len(raw)} bytes; expected {_RAW}")
    return X25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """A device's own key pairs: Ed25519 to authenticate, X25519 to receive sealed keys.

    Created on the device; only the public halves ever leave it.
    """

    signing: Ed25519PrivateKey
    exchange: X25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def signing_public_b64(self) -> str:
        return public_key_b64(self.signing)

    @property
    def exchange_public_b64(self) -> str:
        return public_key_b64(self.exchange)

    def private_b64(self) -> dict[str, str]:
        """Both private keys as base64 raw bytes, for the keyring or a 0600 file."""
        return {
            "ed25519": base64.b64encode(_raw_private(self.signing)).decode("ascii"),
            "x25519": base64.b64encode(_raw_private(self.exchange)).decode("ascii"),
        }

    @classmethod
    def from_private_b64(cls, data: Mapping[str, str]) -> DeviceKeys:
        """The inverse of private_b64; KeyMaterialError for anything else."""
        try:
            signing, exchange = data["ed25519"], data["x25519"]
        except (KeyError, TypeError):
            raise KeyMaterialError("device keys need 'ed25519' and 'x25519' entries") from None
        if not isinstance(signing, str) or not isinstance(exchange, str):
            raise KeyMaterialError("device keys must be base64 text")
        return cls(
            Ed25519PrivateKey.from_private_bytes(_b64_raw(signing, "device Ed25519 key")),
            X25519PrivateKey.from_private_bytes(_b64_raw(exchange, "device X25519 key")),
        )

    def __repr__(self) -> str:
        return f"DeviceKeys(signing={self.signing_public_b64}, exchange={self.exchange_public_b64})"


def _context(tenant_id: str, event_id: str, device_id: str) -> bytes:
    return f"scanctl sealed event key v{_VERSION}|{tenant_id}|{event_id}|{device_id}".encode()


def _aead(shared: bytes, ephemeral: bytes, recipient: bytes, info: bytes) -> ChaCha20Poly1305:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=info)
    return ChaCha20Poly1305(hkdf.derive(shared))


def seal_event_key(
    event_key: bytes,
    device_public_key: str | bytes | X25519PublicKey,
    *,
    tenant_id: str,
    event_id: str,
    device_id: str,
) -> bytes:
    """Seal a 32-byte event key so only ``device_id``'s X25519 private key opens it,
    and only for this tenant and event (see the module docstring)."""
    if len(event_key) != EVENT_KEY_LENGTH:
        raise ValueError(f"an event key is {EVENT_KEY_LENGTH} bytes, got {len(event_key)}")
    recipient = load_x25519_public_key(device_public_key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _raw_public(ephemeral.public_key())
    info = _context(tenant_id, event_id, device_id)
    aead = _aead(ephemeral.exchange(recipient), ephemeral_raw, _raw_public(recipient), info)
    nonce = os.urandom(_NONCE_LENGTH)
    return bytes((_VERSION,)) + ephemeral_raw + nonce + aead.encrypt(nonce, event_key, info)


def open_event_key(
    sealed: bytes,
    device_private_key: X25519PrivateKey,
    *,
    tenant_id: str,
    event_id: str,
    device_id: str,
) -> bytes:
    """The event key inside ``sealed``; SealError if this device key, in this context,
    cannot open it (another device's key, moved to another event, or tampered)."""
    if len(sealed) != SEALED_KEY_LENGTH or sealed[0] != _VERSION:
        raise SealError(
            f"sealed event key is not a version-{_VERSION} blob of {SEALED_KEY_LENGTH} bytes"
        )
    ephemeral_raw = sealed[1 : 1 + _RAW]
    nonce = sealed[1 + _RAW : 1 + _RAW + _NONCE_LENGTH]
    ciphertext = sealed[1 + _RAW + _NONCE_LENGTH :]
    recipient_raw = _raw_public(device_private_key.public_key())
    try:
        shared = device_private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    except ValueError:  # an all-zero shared secret: a low-order point was planted
        raise SealError("sealed event key carries an invalid ephemeral key") from None
    info = _context(tenant_id, event_id, device_id)
    try:
        return _aead(shared, ephemeral_raw, recipient_raw, info).decrypt(nonce, ciphertext, info)
    except InvalidTag:
        raise SealError(
            f"sealed event key does not open with this device key for device {device_id}, "
            f"event {event_id}: it was sealed to another device or context, or altered"
        ) from None


def open_event_keys(header: ManifestHeader, device_private_key: X25519PrivateKey) -> list[bytes]:
    """Every event key a verified manifest carries for this device, current first: the
    ``event_keys`` decide() takes. SealError if any of them does not open."""
    return [
        open_event_key(
            sealed,
            device_private_key,
            tenant_id=header.tenant_id,
            event_id=header.event_id,
            device_id=header.device_id,
        )
        for sealed in header.sealed_event_keys
    ]
