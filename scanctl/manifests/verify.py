"""Verification on load: signature, trusted key, context, validity and sequence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanctl.manifests.errors import (
    BadSignature,
    DeltaBaseMismatch,
    ManifestExpired,
    StaleSequence,
    UnknownSigningKey,
    WrongDevice,
    WrongEvent,
    WrongTenant,
    WrongVenue,
)
from scanctl.manifests.model import Manifest, ManifestHeader
from scanctl.manifests.signing import TrustedKeys
from scanctl.manifests.wire import decode_signed, split_wire

__all__ = ["ManifestVerifier", "VerifiedManifest", "check_sequence"]


@dataclass(frozen=True, slots=True)
class VerifiedManifest:
    """A manifest that passed verification. ``stale`` is true only when the caller
    allowed an expired manifest and this one is past its validity: decide() then gets
    ``manifest_stale=True`` and the policy chooses deny or admit-with-warning.
    ``wire`` is the signed bytes it was decoded from: the store keeps them, so what it
    holds stays verifiable at rest."""

    manifest: Manifest
    stale: bool = False
    wire: bytes = b""

    @property
    def header(self) -> ManifestHeader:
        return self.manifest.header


def check_sequence(header: ManifestHeader, held_sequence: int | None) -> None:
    """Refuse a manifest that does not follow the held one.

    A full manifest must be newer than the held sequence (a replayed or reordered
    older one is refused); a delta must be built on exactly the held sequence.
    """
    if header.base_sequence is not None:
        if held_sequence is None:
            raise DeltaBaseMismatch(
                f"delta {header.base_sequence}→{header.sequence} needs a held manifest; "
                "none is held, pull a full one"
            )
        if header.base_sequence != held_sequence:
            raise DeltaBaseMismatch(
                f"delta is built on sequence {header.base_sequence}, the held manifest is "
                f"sequence {held_sequence}; pull a full one"
            )
    elif held_sequence is not None and header.sequence <= held_sequence:
        raise StaleSequence(
            f"manifest sequence {header.sequence} is not newer than the held {held_sequence}"
        )


class ManifestVerifier:
    """Checks manifests against the trusted signing keys and the gate's own context."""

    __slots__ = ("trusted",)

    def __init__(self, trusted: TrustedKeys | Iterable[str | bytes | Ed25519PublicKey]) -> None:
        """``trusted``: a TrustedKeys, or the public keys themselves (base64, raw, PEM)."""
        self.trusted = trusted if isinstance(trusted, TrustedKeys) else TrustedKeys(trusted)

    def verify_signature(self, wire: bytes) -> Manifest:
        """Check the framing and the signature of ``wire`` only, then decode it.

        What a store re-checks at rest: the context and validity were checked when the
        manifest was applied, and its expiry is judged by the daemon at every scan.
        """
        parts = split_wire(wire)
        valid = self.trusted.verify(parts.key_id, parts.signature, parts.signed)
        if valid is None:
            raise UnknownSigningKey(
                f"manifest is signed with key {parts.key_id}, which is not trusted "
                f"(trusted: {', '.join(sorted(self.trusted.key_ids))})"
            )
        if not valid:
            raise BadSignature("manifest signature does not verify: the bytes were altered")
        return decode_signed(parts)

    def verify(
        self,
        wire: bytes,
        *,
        tenant_id: str,
        venue_id: str,
        now_ms: int,
        event_id: str | None = None,
        device_id: str | None = None,
        held_sequence: int | None = None,
        allow_expired: bool = False,
    ) -> VerifiedManifest:
        """Verify and decode ``wire``, or raise the ManifestRefused subclass that says why.

        The signature is checked before anything but the framing is parsed. ``event_id``
        and ``device_id`` are checked when given. ``held_sequence``, when given, is the
        sequence of the manifest held for this event: an older or equal full manifest,
        or a delta on another base, is refused (ManifestStore.apply makes the same
        checks against what it holds). An expired manifest is refused unless
        ``allow_expired``, in which case it comes back with ``stale=True``.
        """
        manifest = self.verify_signature(wire)
        header = manifest.header
        if header.tenant_id != tenant_id:
            raise WrongTenant(f"manifest is for tenant {header.tenant_id}, expected {tenant_id}")
        if header.venue_id != venue_id:
            raise WrongVenue(f"manifest is for venue {header.venue_id}, expected {venue_id}")
        if event_id is not None and header.event_id != event_id:
            raise WrongEvent(f"manifest is for event {header.event_id}, expected {event_id}")
        if device_id is not None and header.device_id != device_id:
            raise WrongDevice(f"manifest is for device {header.device_id}, expected {device_id}")
        stale = header.is_expired(now_ms)
        if stale and not allow_expired:
            raise ManifestExpired(
                f"manifest sequence {header.sequence} expired at {header.valid_until_ms} "
                f"(now {now_ms}, {(now_ms - header.valid_until_ms) // 1000} s ago)"
            )
        if held_sequence is not None:
            check_sequence(header, held_sequence)
        return VerifiedManifest(manifest, stale, bytes(wire))
