"""Offline manifests: format, signing, verification, sealed event keys, deltas."""

from scanctl.manifests.builder import build_delta, build_manifest, diff_entries
from scanctl.manifests.errors import (
    BadSignature,
    DeltaBaseMismatch,
    KeyMaterialError,
    MalformedManifest,
    ManifestError,
    ManifestExpired,
    ManifestRefused,
    ManifestStoreError,
    SealError,
    StaleSequence,
    UnknownSigningKey,
    WrongContext,
    WrongDevice,
    WrongEvent,
    WrongTenant,
    WrongVenue,
)
from scanctl.manifests.model import (
    FORMAT_VERSION,
    Manifest,
    ManifestEntry,
    ManifestHeader,
    PeerDevice,
)
from scanctl.manifests.sealing import (
    DeviceKeys,
    load_x25519_public_key,
    open_event_key,
    open_event_keys,
    public_key_b64,
    seal_event_key,
)
from scanctl.manifests.signing import (
    ManifestSigner,
    TrustedKeys,
    key_id_for,
    load_public_key,
    load_signing_key,
)
from scanctl.manifests.store import ManifestStore
from scanctl.manifests.verify import ManifestVerifier, VerifiedManifest
from scanctl.manifests.wire import PackedEntries

__all__ = [
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
]
