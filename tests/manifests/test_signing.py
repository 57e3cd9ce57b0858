"""MANIFEST_SIGNING_KEY loading (base64 and PEM), key ids and the trusted key set."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.manifests import (
    KeyMaterialError,
    ManifestSigner,
    TrustedKeys,
    key_id_for,
    load_public_key,
    load_signing_key,
)


def _raw_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def _pem(key: object, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def test_base64_raw_key_loads_to_the_same_key() -> None:
    key = Ed25519PrivateKey.generate()
    signer = load_signing_key(_raw_b64(key))
    assert signer.key_id == key_id_for(key.public_key())
    signature = signer.sign(b"payload")
    key.public_key().verify(signature, b"payload")


def test_base64_with_surrounding_whitespace_loads() -> None:
    key = Ed25519PrivateKey.generate()
    assert load_signing_key(f"  {_raw_b64(key)}\n").key_id == key_id_for(key.public_key())


def test_pem_file_path_loads(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "manifest-signing.pem"
    path.write_bytes(_pem(key))
    assert load_signing_key(str(path)).key_id == key_id_for(key.public_key())


def test_pem_text_loads() -> None:
    key = Ed25519PrivateKey.generate()
    assert load_signing_key(_pem(key).decode()).key_id == key_id_for(key.public_key())


def test_private_key_b64_round_trips() -> None:
    signer = ManifestSigner.generate()
    assert load_signing_key(signer.private_key_b64()).key_id == signer.key_id


def test_key_id_is_short_stable_fingerprint() -> None:
    signer = ManifestSigner.generate()
    raw = base64.b64decode(signer.public_key_b64())
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert key_id_for(load_public_key(raw)) == signer.key_id
    assert signer.key_id not in repr(ManifestSigner.generate())


def test_repr_never_shows_the_private_key() -> None:
    signer = ManifestSigner.generate()
    assert signer.private_key_b64() not in repr(signer)


@pytest.mark.parametrize(
    ("material", "message"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (base64.b64encode(os.urandom(31)).decode(), "to 31 bytes"),
        (base64.b64encode(os.urandom(64)).decode(), "to 64 bytes"),
        ("change-me", "neither a base64 32-byte"),
        ("/no/such/manifest-key.pem", "neither a base64 32-byte"),
        ("?" * 5000, "neither a base64 32-byte"),
        ("bad\x00path", "neither a base64 32-byte"),
        ("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "not a readable"),
    ],
    ids=[
        "empty",
        "blank",
        "31-bytes",
        "64-bytes",
        "word",
        "missing-path",
        "too-long",
        "nul",
        "bad-pem",
    ],
)
def test_garbage_is_a_clear_error(material: str, message: str) -> None:
    with pytest.raises(KeyMaterialError, match=message):
        load_signing_key(material)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(os.urandom(200))
    with pytest.raises(KeyMaterialError, match=f"file {path} is not a readable"):
        load_signing_key(str(path))


def test_wrong_algorithm_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(_pem(generate_private_key(SECP256R1())))
    with pytest.raises(KeyMaterialError, match="not an Ed25519 key"):
        load_signing_key(str(path))


def test_encrypted_pem_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "encrypted.pem"
    path.write_bytes(_pem(Ed25519PrivateKey.generate(), password=b"hunter2-hunter2"))
    with pytest.raises(KeyMaterialError, match="encrypted"):
        load_signing_key(str(path))


def test_error_never_contains_the_material() -> None:
    wrong_length = base64.b64encode(os.urandom(48)).decode()
    with pytest.raises(KeyMaterialError) as caught:
        load_signing_key(wrong_length)
    assert wrong_length not in str(caught.value)


@settings(max_examples=200)
@given(material=st.text(max_size=300))
def test_any_text_loads_or_is_a_key_material_error(material: str) -> None:
    with contextlib.suppress(KeyMaterialError):
        load_signing_key(material)


def test_public_keys_from_every_form() -> None:
    signer = ManifestSigner.generate()
    pem = signer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    raw = base64.b64decode(signer.public_key_b64())
    for form in (signer.public_key, raw, signer.public_key_b64(), pem):
        assert key_id_for(load_public_key(form)) == signer.key_id


@pytest.mark.parametrize(
    "material", [b"short", "not base64!", "QUJD", "-----BEGIN PUBLIC KEY-----"]
)
def test_bad_public_keys_are_refused(material: str | bytes) -> None:
    with pytest.raises(KeyMaterialError):
        load_public_key(material)


def test_trusted_keys_by_id() -> None:
    first, second = ManifestSigner.generate(), ManifestSigner.generate()
    trusted = TrustedKeys([first.public_key_b64(), second.public_key])
    assert trusted.key_ids == {first.key_id, second.key_id}
    signature = first.sign(b"data")
    assert trusted.verify(first.key_id, signature, b"data") is True
    assert trusted.verify(second.key_id, signature, b"data") is False
    assert trusted.verify("0" * 16, signature, b"data") is None


def test_no_trusted_keys_is_an_error() -> None:
    with pytest.raises(KeyMaterialError, match="no trusted"):
        TrustedKeys([])


def test_messages_name_the_setting() -> None:
    with pytest.raises(KeyMaterialError, match=r"^MANIFEST_SIGNING_KEY is empty$"):
        load_signing_key("")
    with pytest.raises(KeyMaterialError, match=r"^--key-file is neither"):
        load_signing_key("non-sense!", name="--key-file")
