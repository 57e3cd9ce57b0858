"""Dependencies shared by the routes: the database, the clock, the caller with a permission."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from scanctl.backend.auth.dependencies import require
from scanctl.backend.auth.permissions import Permission
from scanctl.backend.auth.principal import Principal
from scanctl.backend.db.engine import Database
from scanctl.backend.state import backend_state

__all__ = [
    "AuditReader",
    "CatalogManager",
    "Db",
    "DeviceManager",
    "NowMs",
    "PolicyManager",
    "Reader",
    "TemplateManager",
    "responses",
]


def _db(request: Request) -> Database:
    database: Database = backend_state(request.app).db
    return database


def _now_ms(request: Request) -> int:
    now: int = backend_state(request.app).clock()
    return now


Db = Annotated[Database, Depends(_db)]
NowMs = Annotated[int, Depends(_now_ms)]

Reader = Annotated[Principal, Depends(require(Permission.READ))]
CatalogManager = Annotated[Principal, Depends(require(Permission.MANAGE_CATALOG))]
DeviceManager = Annotated[Principal, Depends(require(Permission.MANAGE_DEVICES))]
PolicyManager = Annotated[Principal, Depends(require(Permission.MANAGE_POLICIES))]
TemplateManager = Annotated[Principal, Depends(require(Permission.MANAGE_TEMPLATES))]
AuditReader = Annotated[Principal, Depends(require(Permission.READ_AUDIT))]

Responses = dict[int | str, dict[str, Any]]


def responses(*codes: int) -> Responses:
    """OpenAPI descriptions of the error answers a route can give."""
    return {code: {"description": _DESCRIPTIONS[code]} for code in codes}


_DESCRIPTIONS = {
    400: "The body is not UTF-8 JSON, or Content-Length is invalid",
    401: "Missing, malformed, expired or wrongly signed bearer token",
    403: "Not allowed for this role or venue",
    404: "Not found in your tenant (the same answer whether or not it exists elsewhere)",
    409: "Conflicts with existing data",
    413: "Request body too large",
    429: "Too many requests; see Retry-After",
}
