"""Ed25519 manifest signing keys: loading MANIFEST_SIGNING_KEY, key ids, signer and trust set."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanctl.manifests.errors import KeyMaterialError

__all__ = [
    "KEY_ID_LENGTH",
    "ManifestSigner",
    "TrustedKeys",
    "key_id_for",
    "load_public_key",
    "load_signing_key",
]

KEY_ID_LENGTH = 16
"""Hex characters of a key id: the first 8 bytes of SHA-256 of the raw public key."""

_RAW_KEY_LENGTH = 32


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(key: Ed25519PublicKey) -> str:
    """A short, stable fingerprint of a public key (16 lowercase hex)."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:KEY_ID_LENGTH]


def _strict_b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


class ManifestSigner:
    """The backend's manifest signing key. Never logs or prints the private key."""

    __slots__ = ("_key", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> ManifestSigner:
        """A fresh random key (tests, and `scanctl` commands that create one)."""
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._key.sign(data)

    def public_key_b64(self) -> str:
        """The raw public key as standard base64, for the daemon's trusted keys."""
        return base64.b64encode(_raw_public(self.public_key)).decode("ascii")

    def private_key_b64(self) -> str:
        """The raw private key as standard base64: the MANIFEST_SIGNING_KEY form."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:
        return f"ManifestSigner(key_id={self.key_id!r})"


def load_signing_key(material: str, *, name: str = "MANIFEST_SIGNING_KEY") -> ManifestSigner:
    """Load MANIFEST_SIGNING_KEY: a 32-byte raw Ed25519 private key as standard base64,
    or the path of an unencrypted PKCS8 PEM file (PEM text itself is accepted too).

    Raises KeyMaterialError with a message that starts with ``name`` (the setting the
    material came from) and says what is wrong, but never contains the key itself.
    """
    text = material.strip()
    if not text:
        raise KeyMaterialError(f"{name} is empty")
    if "-----BEGIN" in text:
        return _from_pem(text.encode(), f"{name} (PEM text)")
    raw = _strict_b64(text)
    if raw is not None and len(raw) == _RAW_KEY_LENGTH:
        return ManifestSigner(Ed25519PrivateKey.from_private_bytes(raw))
    path = Path(text)
    try:
        path = path.expanduser()
        is_file = path.is_file()
    except (OSError, ValueError, RuntimeError):  # too long, a NUL byte, "~nobody"
        is_file = False
    if is_file:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"{name}: cannot read the file {path}: {exc}") from None
        return _from_pem(pem, f"{name} file {path}")
    if raw is not None:
        raise KeyMaterialError(
            f"{name} decodes from base64 to {len(raw)} bytes; "
            f"an Ed25519 private key is {_RAW_KEY_LENGTH}"
        )
    raise KeyMaterialError(
        f"{name} is neither a base64 32-byte Ed25519 private key "
        "nor the path of an existing PKCS8 PEM file"
    )


def _from_pem(pem: bytes, where: str) -> ManifestSigner:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise KeyMaterialError(f"{where} is encrypted; give an unencrypted PKCS8 key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyMaterialError(f"{where} is not a readable PKCS8 PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMaterialError(f"{where} holds a {type(key).__name__}, not an Ed25519 key")
    return ManifestSigner(key)


def load_public_key(material: str | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    """An Ed25519 public key from raw bytes, their standard base64, or PEM
    (SubjectPublicKeyInfo) text; KeyMaterialError for anything else."""
    if isinstance(material, Ed25519PublicKey):
        return material
    if isinstance(material, bytes):
        raw: bytes | None = material
    elif "-----BEGIN" in material:
        try:
            key = serialization.load_pem_public_key(material.encode())
        except (ValueError, UnsupportedAlgorithm):
            raise KeyMaterialError("not a readable PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyMaterialError(f"PEM holds a {type(key).__name__}, not an Ed25519 key")
        return key
    else:
        raw = _strict_b64(material)
    if raw is None or len(raw) != _RAW_KEY_LENGTH:
        raise KeyMaterialError("an Ed25519 public key is 32 raw bytes (standard base64 in text)")
    return Ed25519PublicKey.from_public_bytes(raw)


class TrustedKeys:
    """The manifest signing keys a verifier accepts, by key id (several while keys rotate)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[str | bytes | Ed25519PublicKey]) -> None:
        loaded = [load_public_key(key) for key in keys]
        self._keys: Mapping[str, Ed25519PublicKey] = {key_id_for(k): k for k in loaded}
        if not self._keys:
            raise KeyMaterialError("no trusted manifest signing keys given")

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def get(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)

    def verify(self, key_id: str, signature: bytes, data: bytes) -> bool | None:
        """True or False for a known key id, None for an unknown one."""
        key = self._keys.get(key_id)
        if key is None:
            return None
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"TrustedKeys({sorted(self._keys)!r})"
