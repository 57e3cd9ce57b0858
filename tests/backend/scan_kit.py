"""A door for the scan tests: a tenant, a venue, a live event, devices, tickets, tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scanctl.backend.auth.principal import Role
from tests.backend.helpers import ServerProcess, new_id


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def create_live_event(catalog: httpx.Client, event: str, venue: str, name: str) -> None:
    """Create an event that began an hour ago and ends in five hours."""
    response = catalog.post(
        "/api/catalog/events",
        json={
            "id": event,
            "venueId": venue,
            "name": name,
            "startsAt": iso(timedelta(hours=-1)),
            "endsAt": iso(timedelta(hours=5)),
        },
    )
    assert response.status_code == 201, response.text


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 written out with the standard library (salt = none: 32 zero bytes)."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def independent_token(secret: str, tenant: str, event: str, ticket: str, at_ms: int) -> str:
    """A rotating token made from DESIGN.md alone, without any scanctl code."""
    key = hkdf_sha256(secret.encode(), f"scanctl qr v1|{tenant}|{event}".encode())
    signed = f"{ticket}:{at_ms:013d}:{secrets.token_hex(8)}"
    return f"{signed}:{hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()}"


@dataclass
class Door:
    server: ServerProcess
    tenant: str
    venue: str
    event: str
    device: str
    admin: httpx.Client
    staff: httpx.Client
    counter: int = 0

    def new_event(self, *, starts: timedelta, ends: timedelta, venue: str | None = None) -> str:
        event = new_id()
        response = self.admin.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": venue or self.venue,
                "name": "Scan test",
                "startsAt": iso(starts),
                "endsAt": iso(ends),
            },
        )
        assert response.status_code == 201, response.text
        return event

    def new_device(self, *, venue: str | None = None, zone: str | None = None) -> str:
        device = new_id()
        body: dict[str, Any] = {
            "deviceId": device,
            "name": "Gate",
            "type": "SCANNER_GUN",
            "venueId": venue or self.venue,
        }
        if zone:
            body["zone"] = zone
        response = self.admin.post("/api/devices/register", json=body)
        assert response.status_code == 201, response.text
        return device

    def ticket(self, event: str | None = None, **fields: Any) -> str:
        self.counter += 1
        ticket = f"{int(self.tenant[-6:], 16) * 4096 + self.counter:08x}"[-8:]
        response = self.admin.post(
            f"/api/catalog/events/{event or self.event}/tickets",
            json={"tickets": [{"id": ticket, **fields}]},
        )
        assert response.status_code == 200, response.text
        return ticket

    def policy(self, event: str | None = None, **policy: Any) -> None:
        response = self.admin.put(f"/api/policies/{event or self.event}", json=policy)
        assert response.status_code == 200, response.text

    def generate(self, ticket: str, event: str | None = None) -> str:
        params = {"eventId": event} if event else None
        response = self.admin.get(f"/api/qr/generate/{ticket}", params=params)
        assert response.status_code == 200, response.text
        token: str = response.json()["qrData"]
        return token

    def mint(self, ticket: str, event: str | None = None, *, age_ms: int = 0) -> str:
        return independent_token(
            self.server.env["HMAC_SECRET"],
            self.tenant,
            event or self.event,
            ticket,
            int(time.time() * 1000) - age_ms,
        )

    def scan(
        self,
        code: str,
        *,
        event: str | None = None,
        device: str | None = None,
        client: httpx.Client | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        response = (client or self.staff).post(
            "/api/scan",
            json={
                "qrData": code,
                "eventId": event or self.event,
                "deviceId": device or self.device,
                **extra,
            },
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def open_door(server: ServerProcess) -> Door:
    tenant = f"scan-{secrets.token_hex(3)}"
    venue = new_id()
    admin = server.client(server.token(Role.ADMIN, tenant))
    staff = server.client(server.token(Role.VENUE_STAFF, tenant, venue))
    door = Door(server, tenant, venue, "", "", admin, staff)
    door.event = door.new_event(starts=timedelta(hours=-1), ends=timedelta(hours=5))
    door.device = door.new_device()
    return door


class RawHttp:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for JSON POSTs.

    httpx's async pool spends more CPU per request than the server does, which would
    make a burst of 100 requests a test of the client; this costs almost nothing.
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length)
        return status, json.loads(payload)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
