"""Request and response bodies. Requests refuse unknown fields; JSON names are camelCase."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_snake

from scanctl.backend.store import DeviceStatus, DeviceType
from scanctl.core import Policy, TicketStatus

__all__ = [
    "MAX_TICKETS_PER_CALL",
    "AuditOut",
    "DeviceIn",
    "DeviceOut",
    "EventIn",
    "EventOut",
    "MeOut",
    "PolicyOut",
    "TemplateOut",
    "TicketIn",
    "TicketOut",
    "TicketsIn",
    "TicketsOut",
    "UpsertOut",
]

MAX_TICKETS_PER_CALL = 10_000

TicketId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DeviceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
StaticHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# Between 1970 and 9999: the range ms-since-the-epoch columns and every client handle.
_EARLIEST = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _in_range(value: datetime) -> datetime:
    if value < _EARLIEST:
        raise ValueError("must not be before 1970")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


def _raw_32_byte_key(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be standard base64") from None
    if len(raw) != 32:
        raise ValueError("must be a raw 32-byte public key")
    return base64.b64encode(raw).decode()


PublicKey = Annotated[
    str, StringConstraints(min_length=44, max_length=44), AfterValidator(_raw_32_byte_key)
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_name=False)


class _Out(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, serialize_by_alias=True, validate_by_name=True
    )


class EventIn(_In):
    """POST /api/catalog/events."""

    id: UUID
    venue_id: UUID
    name: Name
    starts_at: Instant
    ends_at: Instant

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        return self


class EventOut(_Out):
    """An event of the catalog."""

    id: str
    venue_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    ticket_sequence: int
    created_at: datetime
    updated_at: datetime


class TicketIn(_In):
    """One ticket of a bulk upsert."""

    id: TicketId
    status: TicketStatus = TicketStatus.ACTIVE
    zones: Annotated[list[Zone], Field(max_length=32)] = Field(default_factory=list)
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    transferred_to: TicketId | None = None
    static_hash: StaticHash | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.status is TicketStatus.TRANSFERRED) != (self.transferred_to is not None):
            raise ValueError("transferredTo is required with, and only with, status TRANSFERRED")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")
        return self


class TicketsIn(_In):
    """POST /api/catalog/events/{eventId}/tickets: up to 10,000 tickets, upserted."""

    tickets: Annotated[list[TicketIn], Field(min_length=1, max_length=MAX_TICKETS_PER_CALL)]


class TicketOut(_Out):
    """A ticket of the catalog."""

    id: str
    event_id: str
    status: TicketStatus
    zones: list[str]
    valid_from: datetime | None
    valid_until: datetime | None
    transferred_to: str | None
    static_hash: str | None
    updated_seq: int


class TicketsOut(_Out):
    """One page of tickets; pass ``next`` as ``after`` for the following page."""

    tickets: list[TicketOut]
    next: str | None


class UpsertOut(_Out):
    """What a bulk upsert changed."""

    created: int
    updated: int
    unchanged: int
    sequence: int


class DeviceIn(_In):
    """POST /api/devices/register.

    The original scanning service's names are accepted too: ``deviceName`` for ``name``
    and ``deviceType`` for ``type`` (one of each pair; giving both is refused).
    """

    device_id: UUID
    name: DeviceName | None = None
    """The device's name (or ``deviceName``): one of the two is required."""
    type: DeviceType | None = None
    """The kind of device (or ``deviceType``): one of the two is required."""
    device_name: DeviceName | None = None
    """The original service's name for ``name``."""
    device_type: DeviceType | None = None
    """The original service's name for ``type``."""
    venue_id: UUID
    can_scan_offline: bool = False
    zone: Zone | None = None
    signing_public_key: PublicKey | None = None
    """The device's Ed25519 public key (raw 32 bytes, standard base64)."""
    sealing_public_key: PublicKey | None = None
    """The device's X25519 public key (raw 32 bytes, standard base64)."""

    @model_validator(mode="after")
    def _one_of_each_name(self) -> Self:
        for ours, theirs in (("name", "deviceName"), ("type", "deviceType")):
            given = [n for n in (ours, theirs) if getattr(self, to_snake(n)) is not None]
            if len(given) != 1:
                raise ValueError(f"give {ours} or {theirs} (the original service's name), once")
        return self

    @property
    def device_label(self) -> str:
        """The name, whichever field it came in."""
        name = self.name if self.name is not None else self.device_name
        assert name is not None  # checked by the validator
        return name

    @property
    def device_kind(self) -> DeviceType:
        """The type, whichever field it came in."""
        kind = self.type if self.type is not None else self.device_type
        assert kind is not None  # checked by the validator
        return kind


class DeviceOut(_Out):
    """A registered device."""

    device_id: str
    venue_id: str
    name: str
    type: DeviceType
    can_scan_offline: bool
    zone: str | None
    signing_public_key: str | None
    sealing_public_key: str | None
    status: DeviceStatus
    registered_by: str
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None


class PolicyOut(_Out):
    """An event's policy; ``isDefault`` when the event has none of its own yet."""

    event_id: str
    policy: Policy
    is_default: bool
    updated_by: str | None
    updated_at: datetime | None


class TemplateOut(_Out):
    """A named policy template (built in, or the tenant's own)."""

    name: str
    policy: Policy
    built_in: bool
    updated_at: datetime | None


class AuditOut(_Out):
    """One audit-log entry."""

    id: int
    at: datetime
    actor: str
    actor_kind: str
    actor_role: str
    device_id: str | None
    action: str
    outcome: str
    target_kind: str | None
    target_id: str | None
    venue_id: str | None
    detail: str | None


class MeOut(_Out):
    """The caller, as the backend understood its token."""

    subject: str
    tenant_id: str
    role: str
    venue_id: str | None
    kind: str
