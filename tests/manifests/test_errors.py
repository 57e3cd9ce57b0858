"""The exception tree and the public surface of scanctl.manifests."""

from __future__ import annotations

import inspect

import scanctl.manifests
from scanctl.manifests import errors

REFUSALS = {
    "MalformedManifest",
    "UnknownSigningKey",
    "BadSignature",
    "WrongContext",
    "WrongTenant",
    "WrongVenue",
    "WrongEvent",
    "WrongDevice",
    "ManifestExpired",
    "StaleSequence",
    "DeltaBaseMismatch",
}


def test_every_error_is_a_manifest_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.ManifestError)


def test_refusals_are_manifest_refused() -> None:
    for name in REFUSALS:
        assert issubclass(getattr(errors, name), errors.ManifestRefused), name
    for name in ("KeyMaterialError", "SealError", "ManifestStoreError"):
        assert not issubclass(getattr(errors, name), errors.ManifestRefused), name


def test_the_tree_in_the_docstring_names_every_class() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, name


def test_public_surface() -> None:
    assert set(scanctl.manifests.__all__) == {
        "FORMAT_VERSION",
        "BadSignature",
        "DeltaBaseMismatch",
        "DeviceKeys",
        "KeyMaterialError",
        "MalformedManifest",
        "Manifest",
        "ManifestEntry",
        "ManifestError",
        "ManifestExpired",
        "ManifestHeader",
        "ManifestRefused",
        "ManifestSigner",
        "ManifestStore",
        "ManifestStoreError",
        "ManifestTampered",
        "ManifestVerifier",
        "PackedEntries",
        "PeerDevice",
        "SealError",
        "StaleSequence",
        "TrustedKeys",
        "UnknownSigningKey",
        "VerifiedManifest",
        "WrongContext",
        "WrongDevice",
        "WrongEvent",
        "WrongTenant",
        "WrongVenue",
        "build_delta",
        "build_manifest",
        "diff_entries",
        "key_id_for",
        "load_public_key",
        "load_signing_key",
        "load_x25519_public_key",
        "open_event_key",
        "open_event_keys",
        "public_key_b64",
        "seal_event_key",
    }
    for name in scanctl.manifests.__all__:
        assert hasattr(scanctl.manifests, name), name


def test_every_module_has_a_one_line_docstring_and_all() -> None:
    import pkgutil

    for info in pkgutil.iter_modules(scanctl.manifests.__path__):
        module = __import__(f"scanctl.manifests.{info.name}", fromlist=["_"])
        assert module.__doc__, info.name
        assert module.__doc__.splitlines()[0].strip(), info.name
        assert inspect.ismodule(module)
        assert hasattr(module, "__all__"), info.name
