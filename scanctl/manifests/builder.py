"""Building signed manifests and deltas: what the backend calls to issue them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scanctl.core import EventFacts, Policy
from scanctl.manifests.errors import MalformedManifest
from scanctl.manifests.model import ManifestEntry, ManifestHeader, PeerDevice
from scanctl.manifests.signing import ManifestSigner
from scanctl.manifests.wire import PackedEntries, check_header, encode_manifest

__all__ = ["build_delta", "build_manifest", "diff_entries"]


def _header(
    *,
    event: EventFacts,
    issued_at_ms: int,
    valid_until_ms: int,
    sequence: int,
    policy: Policy | Mapping[str, object],
    device_id: str,
    sealed_event_keys: bytes | Iterable[bytes],
    signer: ManifestSigner,
    base_sequence: int | None,
    device_zone: str | None,
    peers: Iterable[PeerDevice],
) -> ManifestHeader:
    sealed = (
        (sealed_event_keys,) if isinstance(sealed_event_keys, bytes) else tuple(sealed_event_keys)
    )
    header = ManifestHeader(
        event=event,
        issued_at_ms=issued_at_ms,
        valid_until_ms=valid_until_ms,
        sequence=sequence,
        signing_key_id=signer.key_id,
        policy=policy if isinstance(policy, Policy) else Policy.model_validate(policy),
        device_id=device_id,
        sealed_event_keys=sealed,
        base_sequence=base_sequence,
        device_zone=device_zone,
        peers=tuple(peers),
    )
    try:
        check_header(header)
    except MalformedManifest as exc:
        raise ValueError(str(exc)) from None
    return header


def build_manifest(
    *,
    event: EventFacts,
    issued_at_ms: int,
    valid_until_ms: int,
    sequence: int,
    policy: Policy | Mapping[str, object],
    device_id: str,
    sealed_event_keys: bytes | Iterable[bytes],
    entries: Iterable[ManifestEntry] | PackedEntries,
    signer: ManifestSigner,
    device_zone: str | None = None,
    peers: Iterable[PeerDevice] = (),
) -> bytes:
    """A full, signed manifest of every ticket of ``event`` for one device.

    ``sealed_event_keys`` is the event key sealed to the device (sealing.seal_event_key),
    or several, current first, while the HMAC secret rotates. ``sequence`` must grow
    with every manifest issued for the event. ``device_zone`` is the zone the device
    was registered to, if any (its lanes may name no other); ``peers`` the venue's
    gates that may share admissions with it on the LAN (the gate mesh). Raises
    ValueError for input no manifest can carry (duplicate ticket ids, invalid times, a
    bad policy).

    ``entries`` may be PackedEntries.pack(...) made once for every device's manifest:
    then this call only frames and signs (milliseconds instead of a few hundred).
    """
    header = _header(
        event=event,
        issued_at_ms=issued_at_ms,
        valid_until_ms=valid_until_ms,
        sequence=sequence,
        policy=policy,
        device_id=device_id,
        sealed_event_keys=sealed_event_keys,
        signer=signer,
        base_sequence=None,
        device_zone=device_zone,
        peers=peers,
    )
    if not isinstance(entries, PackedEntries):
        entries = PackedEntries.pack(entries)
    return encode_manifest(header, signer, entries)


def build_delta(
    *,
    event: EventFacts,
    issued_at_ms: int,
    valid_until_ms: int,
    sequence: int,
    base_sequence: int,
    policy: Policy | Mapping[str, object],
    device_id: str,
    sealed_event_keys: bytes | Iterable[bytes],
    changed: Iterable[ManifestEntry] | PackedEntries,
    removed: Iterable[str] = (),
    signer: ManifestSigner,
    device_zone: str | None = None,
    peers: Iterable[PeerDevice] = (),
) -> bytes:
    """A signed delta: the entries changed since ``base_sequence`` (whole entries, as
    they are now) and the ticket ids no longer in the event. The header (validity,
    policy, sealed keys) is complete, as in a full manifest, and replaces the held one.
    ``changed`` may be PackedEntries.pack(changed, removed) shared by every device.
    """
    header = _header(
        event=event,
        issued_at_ms=issued_at_ms,
        valid_until_ms=valid_until_ms,
        sequence=sequence,
        policy=policy,
        device_id=device_id,
        sealed_event_keys=sealed_event_keys,
        signer=signer,
        base_sequence=base_sequence,
        device_zone=device_zone,
        peers=peers,
    )
    if isinstance(changed, PackedEntries):
        if tuple(removed):
            raise ValueError("pack removed ids into the PackedEntries with the changes")
        return encode_manifest(header, signer, changed)
    return encode_manifest(header, signer, PackedEntries.pack(changed, removed))


def diff_entries(
    old: Iterable[ManifestEntry], new: Iterable[ManifestEntry]
) -> tuple[list[ManifestEntry], list[str]]:
    """What a delta from ``old`` to ``new`` carries: (changed or added entries, removed ids).

    For a backend that keeps the entries of the manifests it issued; one that tracks a
    change sequence per ticket can select changed rows directly instead.
    """
    before = {entry.ticket_id: entry for entry in old}
    after = {entry.ticket_id: entry for entry in new}
    changed = [entry for ticket_id, entry in after.items() if before.get(ticket_id) != entry]
    removed = [ticket_id for ticket_id in before if ticket_id not in after]
    return changed, removed
