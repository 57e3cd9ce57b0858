"""Registered devices: register, read, list, revoke — always inside the caller's `Scope`."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.exc import IntegrityError

from scanctl.backend.db.schema import devices
from scanctl.backend.errors import Conflict, NotFound
from scanctl.backend.store.scope import Scope

__all__ = [
    "DeviceRecord",
    "DeviceStatus",
    "DeviceType",
    "NewDevice",
    "get_device",
    "list_devices",
    "register_device",
    "revoke_device",
]


class DeviceType(StrEnum):
    """What kind of hardware scans with this identity."""

    MOBILE = "MOBILE"
    TABLET = "TABLET"
    SCANNER_GUN = "SCANNER_GUN"
    POS = "POS"


class DeviceStatus(StrEnum):
    """A revoked device gets no manifest and no call through, at once."""

    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


@dataclass(frozen=True, slots=True)
class NewDevice:
    """A registration request, already validated."""

    id: str
    venue_id: str
    name: str
    type: DeviceType
    can_scan_offline: bool = False
    zone: str | None = None
    signing_public_key: str | None = None
    sealing_public_key: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A registered device. Public keys are raw keys as standard base64."""

    tenant_id: str
    id: str
    venue_id: str
    name: str
    type: DeviceType
    can_scan_offline: bool
    zone: str | None
    signing_public_key: str | None
    sealing_public_key: str | None
    status: DeviceStatus
    registered_by: str
    created_at_ms: int
    updated_at_ms: int
    revoked_at_ms: int | None


def _record(row: Row[tuple[object, ...]]) -> DeviceRecord:
    m = row._mapping
    return DeviceRecord(
        tenant_id=m["tenant_id"],
        id=m["id"],
        venue_id=m["venue_id"],
        name=m["name"],
        type=DeviceType(m["type"]),
        can_scan_offline=bool(m["can_scan_offline"]),
        zone=m["zone"],
        signing_public_key=m["signing_public_key"],
        sealing_public_key=m["sealing_public_key"],
        status=DeviceStatus(m["status"]),
        registered_by=m["registered_by"],
        created_at_ms=m["created_at_ms"],
        updated_at_ms=m["updated_at_ms"],
        revoked_at_ms=m["revoked_at_ms"],
    )


def get_device(scope: Scope, conn: Connection, device_id: str) -> DeviceRecord:
    """The device; NotFound outside the tenant, OutOfVenue outside the scope's venues."""
    row = conn.execute(
        select(devices).where(scope.tenant_filter(devices.c.tenant_id), devices.c.id == device_id)
    ).first()
    if row is None:
        raise NotFound("device")
    record = _record(row)
    scope.require_venue("device", device_id, record.venue_id)
    return record


def list_devices(
    scope: Scope, conn: Connection, *, venue_id: str | None = None, include_revoked: bool = True
) -> list[DeviceRecord]:
    """Devices of the scope (optionally of one of its venues), oldest registration first."""
    query = select(devices).where(scope.where(devices.c.tenant_id, devices.c.venue_id))
    if venue_id is not None:
        scope.require_venue("venue", venue_id, venue_id)
        query = query.where(devices.c.venue_id == venue_id)
    if not include_revoked:
        query = query.where(devices.c.status == DeviceStatus.ACTIVE.value)
    rows = conn.execute(query.order_by(devices.c.created_at_ms, devices.c.id)).all()
    return [_record(row) for row in rows]


def register_device(
    scope: Scope, conn: Connection, device: NewDevice, *, registered_by: str, now_ms: int
) -> DeviceRecord:
    """Store a new device; Conflict when a device of the caller's venues has this id.

    An id taken by a device the caller cannot see (another venue of the tenant) is not
    told: the device is registered under a fresh random id instead, which the answer
    carries (clients take the id the registration returns), so a manager learns
    nothing about other venues' devices.
    """
    scope.require_venue("venue", device.venue_id, device.venue_id)
    exists = conn.execute(
        select(devices.c.venue_id).where(
            scope.tenant_filter(devices.c.tenant_id), devices.c.id == device.id
        )
    ).first()
    if exists is not None:
        if scope.covers(exists.venue_id):
            raise Conflict("a device with this id is already registered")
        device = dataclasses.replace(device, id=str(uuid.uuid4()))
    try:
        conn.execute(
            devices.insert().values(
                tenant_id=scope.tenant_id,
                id=device.id,
                venue_id=device.venue_id,
                name=device.name,
                type=device.type.value,
                can_scan_offline=device.can_scan_offline,
                zone=device.zone,
                signing_public_key=device.signing_public_key,
                sealing_public_key=device.sealing_public_key,
                status=DeviceStatus.ACTIVE.value,
                registered_by=registered_by,
                created_at_ms=now_ms,
                updated_at_ms=now_ms,
                revoked_at_ms=None,
            )
        )
    except IntegrityError:
        raise Conflict("a device with this id is already registered") from None
    return get_device(scope, conn, device.id)


def revoke_device(scope: Scope, conn: Connection, device_id: str, *, now_ms: int) -> DeviceRecord:
    """Mark the device REVOKED (idempotent: revoking twice keeps the first time)."""
    record = get_device(scope, conn, device_id)
    if record.status is DeviceStatus.REVOKED:
        return record
    conn.execute(
        update(devices)
        .where(scope.tenant_filter(devices.c.tenant_id), devices.c.id == device_id)
        .values(status=DeviceStatus.REVOKED.value, revoked_at_ms=now_ms, updated_at_ms=now_ms)
    )
    return get_device(scope, conn, device_id)
