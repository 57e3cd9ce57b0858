"""The manifest as data: a header of event facts and a list of ticket entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from scanctl.core import EventFacts, Policy, TicketFacts, TicketStatus

__all__ = ["FORMAT_VERSION", "Manifest", "ManifestEntry", "ManifestHeader", "PeerDevice"]

FORMAT_VERSION = 1
"""The wire format this code writes and the only one it reads."""


@dataclass(frozen=True, slots=True)
class PeerDevice:
    """A gate registered for the manifest's venue, as its peers on the LAN know it.

    ``signing_key`` is the device's Ed25519 public key (raw, standard base64): a gate
    takes mesh messages only from devices listed here, signed with their own key.
    """

    device_id: str
    name: str
    signing_key: str


@dataclass(frozen=True, slots=True)
class ManifestHeader:
    """Everything about a manifest except its entries. No personal data.

    ``sequence`` grows with every manifest issued for the event; a delta names the
    sequence it was built on in ``base_sequence`` (None for a full manifest).
    ``sealed_event_keys`` hold the event's QR keys sealed to ``device_id``'s X25519 key,
    current key first (a second one while the backend's HMAC secret rotates).
    ``signing_key_id`` names the Ed25519 key that signed it (see signing.key_id_for).
    ``device_zone`` is the zone the device was registered to (None: not zoned, or a
    manifest from a backend that did not say); its lanes may name no other zone.
    ``peers`` are the venue's active gates (this device too) with their signing keys:
    the only devices whose gate-mesh messages this gate accepts (none: no mesh).
    """

    event: EventFacts
    issued_at_ms: int
    valid_until_ms: int
    sequence: int
    signing_key_id: str
    policy: Policy
    device_id: str
    sealed_event_keys: tuple[bytes, ...]
    base_sequence: int | None = None
    device_zone: str | None = None
    peers: tuple[PeerDevice, ...] = ()

    @property
    def format_version(self) -> int:
        """The wire format it was read from or will be written in (only one exists)."""
        return FORMAT_VERSION

    @property
    def tenant_id(self) -> str:
        return self.event.tenant_id

    @property
    def venue_id(self) -> str:
        return self.event.venue_id

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def is_delta(self) -> bool:
        return self.base_sequence is not None

    @property
    def sealed_event_key(self) -> bytes:
        """The current event key, sealed."""
        return self.sealed_event_keys[0]

    def is_expired(self, now_ms: int) -> bool:
        """Whether ``now_ms`` is past the validity the backend gave this manifest."""
        return now_ms > self.valid_until_ms

    def age_ms(self, now_ms: int) -> int:
        """How long ago the backend issued it (negative if our clock is behind)."""
        return now_ms - self.issued_at_ms


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One ticket as a gate needs it offline.

    ``static_hash`` is the SHA-256 (hex) of the ticket's printed static secret, when it
    has one (core.static_code_hash); the secret itself never travels.
    ``admissions_so_far`` counts admissions the backend knew of when it issued the
    manifest, so re-entry limits hold across gates.
    """

    ticket_id: str
    status: TicketStatus = TicketStatus.ACTIVE
    zones: frozenset[str] = field(default_factory=frozenset)
    valid_from_ms: int | None = None
    valid_until_ms: int | None = None
    transferred_to: str | None = None
    admissions_so_far: int = 0
    static_hash: str | None = None

    def facts(self, event_id: str) -> TicketFacts:
        """The TicketFacts decide() takes."""
        return TicketFacts(
            ticket_id=self.ticket_id,
            event_id=event_id,
            status=self.status,
            zones=self.zones,
            valid_from_ms=self.valid_from_ms,
            valid_until_ms=self.valid_until_ms,
            transferred_to=self.transferred_to,
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """A decoded manifest. For a delta, ``entries`` are the changed tickets and
    ``removed`` the ticket ids that are no longer part of the event (a full manifest
    has none)."""

    header: ManifestHeader
    entries: tuple[ManifestEntry, ...]
    removed: tuple[str, ...] = ()
