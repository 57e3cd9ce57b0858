"""The one exception tree of scanctl.manifests.

    ManifestError                 anything this package refuses
    ├── KeyMaterialError          MANIFEST_SIGNING_KEY, a public key or a device key that is
    │                             not usable key material (garbage, wrong length or type)
    ├── SealError                 a sealed event key cannot be opened (other device, other
    │                             context, or tampered bytes)
    ├── ManifestRefused           a manifest that must not be used; the held one stays
    │   ├── MalformedManifest     truncated, garbage, unknown format version, bad fields
    │   ├── UnknownSigningKey     signed with a key id this verifier does not trust
    │   ├── BadSignature          the Ed25519 signature does not cover these bytes
    │   ├── WrongContext          issued for another tenant, venue, event or device
    │   │   ├── WrongTenant
    │   │   ├── WrongVenue
    │   │   ├── WrongEvent
    │   │   └── WrongDevice
    │   ├── ManifestExpired       valid_until has passed (see ``allow_expired``)
    │   ├── StaleSequence         not newer than the manifest already held
    │   └── DeltaBaseMismatch     a delta built on another sequence than the one held
    └── ManifestStoreError        the local store cannot do what was asked (no manifest held)
        └── ManifestTampered      the stored manifest no longer matches the signed bytes it
                                  was applied from (edited on disk, or kept no signed copy)

Messages are meant for an operator's terminal: they say what was expected and what was
found, and never contain key material.
"""

from __future__ import annotations

__all__ = [
    "BadSignature",
    "DeltaBaseMismatch",
    "KeyMaterialError",
    "MalformedManifest",
    "ManifestError",
    "ManifestExpired",
    "ManifestRefused",
    "ManifestStoreError",
    "ManifestTampered",
    "SealError",
    "StaleSequence",
    "UnknownSigningKey",
    "WrongContext",
    "WrongDevice",
    "WrongEvent",
    "WrongTenant",
    "WrongVenue",
]


class ManifestError(Exception):
    """Base of every error raised by scanctl.manifests."""


class KeyMaterialError(ManifestError):
    """Key material that cannot be loaded (garbage, wrong length, wrong algorithm)."""


class SealError(ManifestError):
    """A sealed event key that does not open with this device key in this context."""


class ManifestRefused(ManifestError):
    """A manifest that failed verification; whatever was held before stays in use."""


class MalformedManifest(ManifestRefused):
    """Bytes that are not a manifest of a format version we read."""


class UnknownSigningKey(ManifestRefused):
    """Signed with a key id that is not among the trusted keys."""


class BadSignature(ManifestRefused):
    """The signature does not verify: the bytes were changed after signing."""


class WrongContext(ManifestRefused):
    """A genuine manifest, but issued for another tenant, venue, event or device."""


class WrongTenant(WrongContext):
    """Issued for another tenant."""


class WrongVenue(WrongContext):
    """Issued for another venue."""


class WrongEvent(WrongContext):
    """Issued for another event than expected."""


class WrongDevice(WrongContext):
    """Issued (its event key sealed) for another device."""


class ManifestExpired(ManifestRefused):
    """Past its valid_until; callers that may use stale data pass ``allow_expired``."""


class StaleSequence(ManifestRefused):
    """Its sequence is not newer than the sequence already held (a replay or a reorder)."""


class DeltaBaseMismatch(ManifestRefused):
    """A delta whose base_sequence is not the sequence held (pull a full manifest)."""


class ManifestStoreError(ManifestError):
    """The local store cannot do what was asked (e.g. a delta when nothing is held)."""


class ManifestTampered(ManifestStoreError):
    """The held manifest does not match the signed bytes it came from: refuse to use it."""
