"""Devices: register (rate-limited per venue), list, show, revoke."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request

from scanctl.backend import store
from scanctl.backend.api.deps import Db, DeviceManager, NowMs, Reader, responses
from scanctl.backend.api.models import DeviceIn, DeviceOut
from scanctl.backend.clock import ms_to_datetime
from scanctl.backend.ratelimit import RateLimits
from scanctl.backend.scanning.cache import invalidate
from scanctl.backend.settings import Settings
from scanctl.backend.state import backend_state
from scanctl.manifests import load_signing_key

__all__ = ["router"]

router = APIRouter(prefix="/api/devices", tags=["devices"], responses=responses(400, 401))

DeviceId = Annotated[UUID, Path(alias="deviceId")]


class RegisteredDeviceOut(DeviceOut):
    """A device just registered, with the key the backend signs its manifests with."""

    manifest_signing_key: str | None = None
    """The backend's Ed25519 manifest signing public key (raw 32 bytes, standard base64):
    the device trusts manifests signed with it."""
    manifest_signing_key_id: str | None = None
    """That key's id, as manifests name it."""


def _manifest_key(request: Request) -> tuple[str | None, str | None]:
    settings: Settings = backend_state(request.app).settings
    if settings.manifest_signing_key is None:
        return None, None
    signer = load_signing_key(settings.manifest_signing_key.get_secret_value())
    return signer.public_key_b64(), signer.key_id


def device_out(record: store.DeviceRecord) -> DeviceOut:
    """The API shape of a device."""
    return DeviceOut(
        device_id=record.id,
        venue_id=record.venue_id,
        name=record.name,
        type=record.type,
        can_scan_offline=record.can_scan_offline,
        zone=record.zone,
        signing_public_key=record.signing_public_key,
        sealing_public_key=record.sealing_public_key,
        status=record.status,
        registered_by=record.registered_by,
        created_at=ms_to_datetime(record.created_at_ms),
        updated_at=ms_to_datetime(record.updated_at_ms),
        revoked_at=None if record.revoked_at_ms is None else ms_to_datetime(record.revoked_at_ms),
    )


@router.post(
    "/register",
    status_code=201,
    responses=responses(403, 409, 429),
)
def register(
    body: DeviceIn, principal: DeviceManager, db: Db, now: NowMs, request: Request
) -> RegisteredDeviceOut:
    """Register a device of a venue you manage.

    Venue managers may register at most ``DEVICE_REGISTRATION_LIMIT`` (10 per hour) per
    venue: a stolen manager token cannot flood a venue with devices. Tenant-wide roles
    (ADMIN, SYSTEM) set up whole venues at once and are not limited per venue.
    """
    scope = principal.scope()
    venue_id = str(body.venue_id)
    # Venue first, so that the limit of a venue is not spent by callers outside it.
    scope.require_venue("venue", venue_id, venue_id)
    if not principal.tenant_wide:
        state = backend_state(request.app)
        limits: RateLimits = state.rate_limits
        retry_after = limits.hit_device_registration(scope.tenant_id, venue_id)
        if retry_after is not None:
            limit = state.settings.device_registration_limit
            raise HTTPException(
                status_code=429,
                detail=f"too many device registrations for this venue (DEVICE_REGISTRATION_LIMIT"
                f" is {limit}); the next is allowed in {retry_after} s, or ask an ADMIN,"
                " who is not limited per venue",
                headers={"Retry-After": str(retry_after)},
            )
    device = store.NewDevice(
        id=str(body.device_id),
        venue_id=venue_id,
        name=body.device_label,
        type=body.device_kind,
        can_scan_offline=body.can_scan_offline,
        zone=body.zone,
        signing_public_key=body.signing_public_key,
        sealing_public_key=body.sealing_public_key,
    )
    with db.write(scope) as conn:
        record = store.register_device(
            scope, conn, device, registered_by=principal.subject, now_ms=now
        )
    invalidate(backend_state(request.app), scope.tenant_id, device_id=record.id)
    public_key, key_id = _manifest_key(request)
    return RegisteredDeviceOut(
        **device_out(record).model_dump(),
        manifest_signing_key=public_key,
        manifest_signing_key_id=key_id,
    )


@router.get("", responses=responses(403))
def list_devices(
    principal: Reader,
    db: Db,
    venue_id: Annotated[UUID | None, Query(alias="venueId")] = None,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = True,
) -> list[DeviceOut]:
    """Devices you may see (your venue, or every venue of your tenant for admins)."""
    scope = principal.scope()
    with db.read(scope) as conn:
        records = store.list_devices(
            scope,
            conn,
            venue_id=None if venue_id is None else str(venue_id),
            include_revoked=include_revoked,
        )
    return [device_out(r) for r in records]


@router.get("/{deviceId}", responses=responses(403, 404))
def show_device(principal: Reader, db: Db, device_id: DeviceId) -> DeviceOut:
    """One device."""
    scope = principal.scope()
    with db.read(scope) as conn:
        return device_out(store.get_device(scope, conn, str(device_id)))


@router.delete("/{deviceId}", responses=responses(403, 404))
def revoke_device(
    principal: DeviceManager, db: Db, now: NowMs, device_id: DeviceId, request: Request
) -> DeviceOut:
    """Revoke a device: it gets no manifest and no call through from now on."""
    scope = principal.scope()
    with db.write(scope) as conn:
        record = store.revoke_device(scope, conn, str(device_id), now_ms=now)
    invalidate(backend_state(request.app), scope.tenant_id, device_id=record.id)
    return device_out(record)
