"""Hostile text: a NUL or a lone surrogate in any text field is a 422 naming the field,
on SQLite and on PostgreSQL alike, never a 500; in a reconciliation upload only the item
holding one is refused, the rest of the batch is stored."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.app import create_app
from scanctl.backend.auth import Role
from scanctl.backend.settings import load_settings
from scanctl.backend.text_guard import might_hold_unsafe_text, unsafe_text
from scanctl.manifests import DeviceKeys
from tests.backend.conftest import mint
from tests.backend.helpers import AppClient, base_env, new_id
from tests.backend.offline_kit import SCANNED_MS, offline_scan, sign_codes

HOSTILE = {"nul": "a\\u0000b", "surrogate": "a\\ud800b", "low surrogate": "\\udfffz"}
"""As spelt inside a JSON string (the escapes are what a client sends)."""

Loc = tuple[str | int, ...]


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def text_fields(
    schema: dict[str, Any], components: dict[str, Any], depth: int = 0
) -> Iterator[Loc]:
    """Every place a string can go in a request body of this schema."""
    schema = _resolve(schema, components)
    if depth > 6:
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from text_fields(branch, components, depth + 1)
    kind = schema.get("type")
    if kind == "string":
        yield ()
    elif kind == "array" and "items" in schema:
        for loc in text_fields(schema["items"], components, depth + 1):
            yield (0, *loc)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            for loc in text_fields(sub, components, depth + 1):
                yield (name, *loc)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for loc in text_fields(extra, components, depth + 1):
                yield ("key", *loc)


def _skeleton(loc: Loc, hostile: str) -> str:
    """A JSON body that holds ``hostile`` (raw escapes) at ``loc`` and nothing else."""
    text = f'"{hostile}"'
    for part in reversed(loc):
        text = f"[{text}]" if isinstance(part, int) else f'{{"{part}":{text}}}'
    return text


def _bodies(api: AppClient) -> list[tuple[str, str, Loc]]:
    document = api.get("/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    found = set()
    for path, operations in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", new_id(), path)
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            for loc in text_fields(schema, components):
                found.add((method.upper(), url, loc))
    return sorted(found, key=repr)


def _check_every_text_field(api: AppClient) -> None:
    bodies = _bodies(api)
    routes = {(method, url) for method, url, _ in bodies}
    assert len(routes) >= 9 and len(bodies) >= 40, bodies  # the schema walk found them
    failures = []
    for method, url, loc in bodies:
        if url == "/api/offline/reconcile" and loc[0] == "scans":
            continue  # item by item: _check_reconcile_refuses_the_item_only
        if loc == ("qrData",):  # a NUL in the scanned payload is stored safely
            hostile_cases = {k: v for k, v in HOSTILE.items() if k != "nul"}
        else:
            hostile_cases = HOSTILE
        for name, hostile in hostile_cases.items():
            response = api.request(
                method,
                url,
                content=_skeleton(loc, hostile),
                headers={"Content-Type": "application/json"},
            )
            detail = response.json().get("detail") if response.status_code == 422 else None
            if not (detail and any(d["loc"] == ["body", *loc] for d in detail)):
                failures.append((method, url, loc, name, response.status_code, response.text))
    assert not failures, failures[:5]
    # Query strings too: a NUL in any parameter of a read.
    document = api.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or not any(p["in"] == "query" for p in get.get("parameters", [])):
            continue
        name = next(p["name"] for p in get["parameters"] if p["in"] == "query")
        url = re.sub(r"\{[^}]+\}", new_id(), path)
        response = api.get(f"{url}?{name}=a%00b")
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"][0]["loc"] == ["query"]


def _register(api: AppClient, venue: str) -> str:
    keys = DeviceKeys.generate()
    device = new_id()
    response = api.post(
        "/api/devices/register",
        json={
            "deviceId": device,
            "name": "Gate",
            "type": "SCANNER_GUN",
            "venueId": venue,
            "canScanOffline": True,
            "signingPublicKey": keys.signing_public_b64,
            "sealingPublicKey": keys.exchange_public_b64,
        },
    )
    assert response.status_code == 201, response.text
    return device


RECONCILE_TEXT = ("qrData", "ticketId", "gate", "scanner", "warning", "scannedAt", "id")


def _check_reconcile_refuses_the_item_only(api: AppClient) -> None:
    venue, event = new_id(), new_id()
    created = api.post(
        "/api/catalog/events",
        json={
            "id": event,
            "venueId": venue,
            "name": "Fest \U0001f389 (a real emoji is text)",
            "startsAt": "2030-06-01T18:00:00Z",
            "endsAt": "2030-06-01T23:30:00Z",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"].startswith("Fest \U0001f389")
    tickets = [f"{i:08x}" for i in range(1, 3 + len(RECONCILE_TEXT) * 2)]
    api.post(f"/api/catalog/events/{event}/tickets", json={"tickets": [{"id": t} for t in tickets]})
    device = _register(api, venue)
    secret = api.app.state.backend.settings.hmac_secret.get_secret_value()

    def scan(ticket: str, at_ms: int) -> dict[str, Any]:
        return sign_codes(secret, "t1", event, [offline_scan(ticket, at_ms=at_ms)])[0]

    good = scan(tickets[0], SCANNED_MS)
    for index, field in enumerate(RECONCILE_TEXT):
        for name, hostile in (("nul", "\\u0000"), ("surrogate", "\\ud800")):
            if field == "qrData" and name == "nul":
                continue  # stored safely: _check_scanned_payloads_are_kept
            bad = scan(tickets[1 + index], SCANNED_MS + index)
            bad[field] = f"@@{field}@@"
            body = json.dumps({"deviceId": device, "eventId": event, "scans": [good, bad]})
            body = body.replace(f"@@{field}@@", f"x{hostile}y")
            response = api.post(
                "/api/offline/reconcile",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 200, (field, name, response.text)
            results = response.json()["results"]
            assert [r["status"] for r in results][1] == "rejected", (field, name, results)
            assert results[0]["status"] in ("accepted", "duplicate"), results
            assert results[1]["error"].startswith(f"{field}: "), results
            assert results[1]["id"] == ("" if field == "id" else bad["id"])
    stored = api.get(f"/api/scans?eventId={event}")
    assert stored.status_code == 200, stored.text


def _check_scanned_payloads_are_kept(api: AppClient) -> None:
    """What a scanner read is garbage at worst: a decision (INVALID), stored safely,
    online and in a reconciliation upload."""
    venue, event = new_id(), new_id()
    api.post(
        "/api/catalog/events",
        json={
            "id": event,
            "venueId": venue,
            "name": "Payloads",
            "startsAt": "2030-06-01T18:00:00Z",
            "endsAt": "2030-06-01T23:30:00Z",
        },
    )
    api.post(f"/api/catalog/events/{event}/tickets", json={"tickets": [{"id": "0000beef"}]})
    device = _register(api, venue)
    bad = f'{{"qrData":"a\\ud800b","eventId":"{event}","deviceId":"{device}"}}'
    refused = api.post("/api/scan", content=bad, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "qrData"]
    for hostile in ("a\\u0000b", "\\u0000"):
        body = f'{{"qrData":"{hostile}","eventId":"{event}","deviceId":"{device}"}}'
        response = api.post("/api/scan", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["reason"] == "INVALID"
        scan = offline_scan("0000beef", allowed=False)
        scan["qrData"] = "@@"
        upload = json.dumps({"deviceId": device, "eventId": event, "scans": [scan]})
        response = api.post(
            "/api/offline/reconcile",
            content=upload.replace('"@@"', f'"{hostile}"'),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["status"] == "accepted", response.text


def _settings(tmp_path: Path, **env: str) -> Any:
    return load_settings(environ=base_env(tmp_path, **env))


def test_every_text_field_on_sqlite(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    headers = {"Authorization": f"Bearer {mint(settings, Role.ADMIN)}"}
    with AppClient(create_app(settings), headers=headers) as api:
        _check_every_text_field(api)
        _check_reconcile_refuses_the_item_only(api)
        _check_scanned_payloads_are_kept(api)


@pytest.mark.postgres
def test_every_text_field_on_postgres(app_role_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, DATABASE_URL=app_role_url)
    headers = {"Authorization": f"Bearer {mint(settings, Role.ADMIN)}"}
    with AppClient(create_app(settings), headers=headers) as api:
        _check_every_text_field(api)
        _check_reconcile_refuses_the_item_only(api)
        _check_scanned_payloads_are_kept(api)


_json_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | _json_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_json_text, children, max_size=4)
    ),
    max_leaves=12,
)


@given(_documents)
def test_the_byte_precheck_never_misses_what_the_walk_finds(document: Any) -> None:
    raw = json.dumps(document).encode("ascii")  # how a client escapes any text
    if unsafe_text(document) is not None:
        assert might_hold_unsafe_text(raw)
        assert unsafe_text(json.loads(raw)) is not None
