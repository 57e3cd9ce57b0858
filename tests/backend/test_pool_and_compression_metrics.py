"""The connection pool and compression are observable: scraped from a real server."""

from __future__ import annotations

import gzip
import re
import secrets

from scanctl.backend.auth import Role
from tests.backend.helpers import ServerProcess, new_id


def _scrape(server: ServerProcess) -> str:
    with server.client() as http:
        response = http.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    return response.text


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_the_database_pool_is_observable(server: ServerProcess) -> None:
    text = _scrape(server)
    assert _value(text, "scanctl_db_pool_size") >= 1
    for state in ("in_use", "idle", "overflow"):
        assert f'scanctl_db_pool_connections{{state="{state}"}}' in text, state
    # The server has used the database (it migrated at start): its connections are open.
    opened = sum(
        _value(text, "scanctl_db_pool_connections", state=state) for state in ("in_use", "idle")
    )
    assert opened >= 1


def test_compressed_responses_count_their_bytes_before_and_after(server: ServerProcess) -> None:
    tenant = f"gzip-{secrets.token_hex(3)}"
    event = new_id()
    route = "/api/catalog/events/{eventId}/tickets"
    with server.client(server.token(Role.ADMIN, tenant)) as admin:
        created = admin.post(
            "/api/catalog/events",
            json={
                "id": event,
                "venueId": new_id(),
                "name": "Gzip night",
                "startsAt": "2030-06-01T18:00:00Z",
                "endsAt": "2030-06-01T23:00:00Z",
            },
        )
        assert created.status_code == 201, created.text
        tickets = [{"id": f"{n:08x}", "zones": ["GA"]} for n in range(1, 301)]
        upserted = admin.post(f"/api/catalog/events/{event}/tickets", json={"tickets": tickets})
        assert upserted.status_code == 200, upserted.text
        before = _scrape(server)
        plain = admin.get(
            f"/api/catalog/events/{event}/tickets", headers={"Accept-Encoding": "identity"}
        )
        assert "content-encoding" not in plain.headers
        with admin.stream(
            "GET", f"/api/catalog/events/{event}/tickets", headers={"Accept-Encoding": "gzip"}
        ) as packed:
            assert packed.headers["content-encoding"] == "gzip"
            wire = b"".join(packed.iter_raw())
    after = _scrape(server)
    assert gzip.decompress(wire) == plain.content
    grown = {
        name: _value(after, name, route=route) - _value(before, name, route=route)
        for name in (
            "scanctl_http_compressed_responses_uncompressed_bytes_total",
            "scanctl_http_compressed_responses_bytes_total",
        )
    }
    assert grown == {
        "scanctl_http_compressed_responses_uncompressed_bytes_total": len(plain.content),
        "scanctl_http_compressed_responses_bytes_total": len(wire),
    }
    assert len(wire) < len(plain.content) / 3  # repetitive JSON compresses well
