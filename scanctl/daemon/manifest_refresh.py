"""The gate's one manifest refresh: what to ask for, then verify, open the key, apply.

`scanctl manifest pull` and the daemon's background sync both bring the held manifest up
to date through `ManifestRefresh`, so the order of the checks is written once: the
signature and the context (tenant, venue, event, device, validity) first, then the
event key must open with this device's key (a manifest whose key does not open would
leave the gate unable to check a single code), and only then is it applied. A refused
manifest changes nothing. The transport (sync or async client) stays the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanctl.daemon.identity import DeviceIdentity
from scanctl.manifests.sealing import open_event_keys
from scanctl.manifests.signing import TrustedKeys
from scanctl.manifests.store import ManifestStore
from scanctl.manifests.verify import ManifestVerifier, VerifiedManifest

__all__ = ["ManifestRefresh"]


@dataclass
class ManifestRefresh:
    """Refreshes ``store`` for ``event_id`` as the device ``identity``."""

    store: ManifestStore
    identity: DeviceIdentity
    event_id: str

    def __post_init__(self) -> None:
        self.verifier = ManifestVerifier(TrustedKeys(self.identity.trusted_manifest_keys))

    def since(self, *, full: bool = False) -> int | None:
        """The sequence to ask a delta from (None: ask for a full manifest)."""
        held = self.store.header
        if full or held is None or held.event_id != self.event_id:
            return None
        return held.sequence

    def apply(self, wire: bytes, *, now_ms: int) -> VerifiedManifest:
        """Verify ``wire``, open its event key, apply it. Raises the ManifestRefused or
        SealError that says why not (DeltaBaseMismatch: pull a full one); the held
        manifest is then untouched."""
        identity = self.identity
        verified = self.verifier.verify(
            wire,
            tenant_id=identity.tenant_id,
            venue_id=identity.venue_id,
            event_id=self.event_id,
            device_id=identity.device_id,
            now_ms=now_ms,
        )
        open_event_keys(verified.header, identity.keys.exchange)
        self.store.apply(verified)
        return verified
