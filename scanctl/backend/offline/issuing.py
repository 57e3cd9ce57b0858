"""Issuing offline manifests: full or delta, signed, with the event key sealed to one device.

Sequence numbers: a manifest's sequence is ``ticket_seq * 2**42 + issued_at_ms``. It
grows with every manifest issued (the clock moves on) and with every catalog change
(``events.ticket_seq``), and needs no table of issued manifests: a device's
``since=<held sequence>`` names the catalog state it holds (``since >> 42``), so the
delta carries the tickets changed after it. A ``since`` the backend cannot have issued
(a catalog state in the future, a time after now) gets a full manifest instead.

Deltas carry changed tickets whole, with their admissions so far; tickets are never
deleted from the catalog, so ``removed`` is always empty. Admission counts of tickets
that did not change are refreshed by a full pull.

Validity: until the event's end plus the grace period, never more than the venue's
bound after the pull (`core.manifest_valid_until_ms`, the one rule).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection

from scanctl.backend import store
from scanctl.backend.errors import StoreError
from scanctl.backend.store.offline import manifest_ticket_rows
from scanctl.core import Policy, TicketStatus, derive_event_key, manifest_valid_until_ms
from scanctl.manifests import (
    ManifestEntry,
    ManifestSigner,
    PackedEntries,
    PeerDevice,
    build_delta,
    build_manifest,
    seal_event_key,
)

__all__ = [
    "SEQUENCE_TIME_BITS",
    "DeviceNotEligible",
    "IssuedManifest",
    "ManifestIssuer",
    "base_ticket_seq",
    "compose_sequence",
]

SEQUENCE_TIME_BITS = 42
"""Low bits of a manifest sequence that hold its issue time in ms (good until 2109)."""

_TIME_MASK = (1 << SEQUENCE_TIME_BITS) - 1
_PACK_CACHE_SIZE = 8

AdmissionCounts = Callable[[store.Scope, Connection, str, Iterable[str] | None], Mapping[str, int]]
"""(scope, conn, event id, ticket ids or None for all) -> admissions per ticket id."""


class DeviceNotEligible(StoreError):
    """The device may not receive a manifest for this event (revoked, not offline-capable,
    no sealing key, another venue); the message says which."""


def compose_sequence(ticket_seq: int, issued_at_ms: int) -> int:
    """The sequence of a manifest of catalog state ``ticket_seq`` issued at ``issued_at_ms``."""
    return (ticket_seq << SEQUENCE_TIME_BITS) | (issued_at_ms & _TIME_MASK)


def base_ticket_seq(sequence: int) -> int:
    """The catalog state a manifest with this sequence was built from."""
    return sequence >> SEQUENCE_TIME_BITS


@dataclass(frozen=True, slots=True)
class IssuedManifest:
    """A signed manifest or delta and the facts the route reports in headers."""

    wire: bytes
    sequence: int
    base_sequence: int | None
    entries: int


def _entries(
    scope: store.Scope,
    conn: Connection,
    event_id: str,
    since_seq: int,
    admissions: AdmissionCounts,
    *,
    all_tickets: bool,
) -> list[ManifestEntry]:
    """Manifest entries of the tickets changed after ``since_seq``, with admissions so far."""
    rows = manifest_ticket_rows(scope, conn, event_id, since_seq)
    counts = admissions(scope, conn, event_id, None if all_tickets else [r[0] for r in rows])
    zones: dict[str, frozenset[str]] = {}  # few distinct zone sets: parse each once
    statuses = {status.value: status for status in TicketStatus}
    entries = []
    for ticket_id, status, zone_json, valid_from, valid_until, moved_to, static_hash in rows:
        zone_set = zones.get(zone_json)
        if zone_set is None:
            zone_set = zones[zone_json] = frozenset(json.loads(zone_json))
        entries.append(
            ManifestEntry(
                ticket_id=ticket_id,
                status=statuses[status],
                zones=zone_set,
                valid_from_ms=valid_from,
                valid_until_ms=valid_until,
                transferred_to=moved_to,
                admissions_so_far=counts.get(ticket_id, 0),
                static_hash=static_hash,
            )
        )
    return entries


def _no_admissions(
    _scope: store.Scope, _conn: Connection, _event: str, _ids: Iterable[str] | None
) -> Mapping[str, int]:
    return {}


class ManifestIssuer:
    """Builds manifests for devices. Packed entries of a full manifest are cached per
    (event, catalog state, admissions state), so many gates pulling the same event
    pay for packing once and each pull only seals, frames and signs."""

    def __init__(
        self,
        signer: ManifestSigner,
        hmac_secrets: tuple[str, ...],
        *,
        validity_ms: int,
        grace_ms: int = 2 * 3_600_000,
        admissions: AdmissionCounts = _no_admissions,
        admissions_stamp: Callable[[store.Scope, Connection, str], object] | None = None,
    ) -> None:
        if not hmac_secrets:
            raise ValueError("at least one HMAC secret is needed to derive event keys")
        self.signer = signer
        self._secrets = hmac_secrets
        self._validity_ms = validity_ms
        self._grace_ms = grace_ms
        self._admissions = admissions
        self._stamp = admissions_stamp
        self._packed: OrderedDict[tuple[object, ...], tuple[PackedEntries, int]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(
        self,
        scope: store.Scope,
        conn: Connection,
        *,
        device: store.DeviceRecord,
        event_id: str,
        policy: Policy,
        since: int | None,
        now_ms: int,
    ) -> IssuedManifest:
        """The manifest (or delta after ``since``) of ``event_id`` for ``device``."""
        event = store.get_event(scope, conn, event_id)
        _check_eligible(device, event)
        assert device.sealing_public_key is not None  # _check_eligible
        sequence = compose_sequence(event.ticket_seq, now_ms)
        facts = event.facts()
        sealed = [
            seal_event_key(
                derive_event_key(secret, event.tenant_id, event.id),
                device.sealing_public_key,
                tenant_id=event.tenant_id,
                event_id=event.id,
                device_id=device.id,
            )
            for secret in self._secrets
        ]
        peers = _peers(scope, conn, event.venue_id)
        valid_until_ms = manifest_valid_until_ms(
            issued_at_ms=now_ms,
            event_ends_at_ms=facts.ends_at_ms,
            grace_ms=self._grace_ms,
            bound_ms=self._validity_ms,
        )
        if since is not None and _usable_base(since, event.ticket_seq, sequence):
            entries = _entries(
                scope, conn, event.id, base_ticket_seq(since), self._admissions, all_tickets=False
            )
            wire = build_delta(
                event=facts,
                issued_at_ms=now_ms,
                valid_until_ms=valid_until_ms,
                sequence=sequence,
                base_sequence=since,
                policy=policy,
                device_id=device.id,
                sealed_event_keys=sealed,
                changed=entries,
                signer=self.signer,
                device_zone=device.zone,
                peers=peers,
            )
            return IssuedManifest(wire, sequence, since, len(entries))
        packed, count = self._full_entries(scope, conn, event)
        wire = build_manifest(
            event=facts,
            issued_at_ms=now_ms,
            valid_until_ms=valid_until_ms,
            sequence=sequence,
            policy=policy,
            device_id=device.id,
            sealed_event_keys=sealed,
            entries=packed,
            signer=self.signer,
            device_zone=device.zone,
            peers=peers,
        )
        return IssuedManifest(wire, sequence, None, count)

    def _full_entries(
        self, scope: store.Scope, conn: Connection, event: store.EventRecord
    ) -> tuple[PackedEntries, int]:
        stamp = None if self._stamp is None else self._stamp(scope, conn, event.id)
        key = (event.tenant_id, event.id, event.ticket_seq, stamp)
        if stamp is not None:
            with self._lock:
                cached = self._packed.get(key)
                if cached is not None:
                    self._packed.move_to_end(key)
                    return cached
        entries = _entries(scope, conn, event.id, 0, self._admissions, all_tickets=True)
        packed = PackedEntries.pack(entries)
        if stamp is not None:
            with self._lock:
                self._packed[key] = (packed, len(entries))
                while len(self._packed) > _PACK_CACHE_SIZE:
                    self._packed.popitem(last=False)
        return packed, len(entries)


def _peers(scope: store.Scope, conn: Connection, venue_id: str) -> list[PeerDevice]:
    """The venue's active gates and their signing keys: who may share admissions on the
    LAN (the gate mesh). A revoked device drops out with the next manifest."""
    return [
        PeerDevice(device.id, device.name, device.signing_public_key)
        for device in store.list_devices(scope, conn, venue_id=venue_id, include_revoked=False)
        if device.signing_public_key is not None
    ]


def _usable_base(since: int, ticket_seq: int, sequence: int) -> bool:
    return 1 <= since < sequence and base_ticket_seq(since) <= ticket_seq


def _check_eligible(device: store.DeviceRecord, event: store.EventRecord) -> None:
    if device.status is not store.DeviceStatus.ACTIVE:
        raise DeviceNotEligible(f"device {device.id} is revoked")
    if not device.can_scan_offline:
        raise DeviceNotEligible(f"device {device.id} is not registered for offline scanning")
    if device.sealing_public_key is None:
        raise DeviceNotEligible(f"device {device.id} has no sealing (X25519) public key")
    if device.venue_id != event.venue_id:
        raise DeviceNotEligible(f"device {device.id} belongs to another venue than the event")
