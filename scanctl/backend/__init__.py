"""The scanning service (FastAPI): auth, devices, catalog, policies, QR, scan, offline.

Entry points: `load_settings()` → `Settings`, `create_app(settings)` → the ASGI app,
`server.serve(settings)` runs it under uvicorn with a graceful drain. Data access goes
through `scanctl.backend.store` (every call takes a `Scope`).

The names below are imported lazily so that CLI commands which only need the settings
(`scanctl token issue`) do not pay for FastAPI and SQLAlchemy at start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanctl.backend.app import create_app
    from scanctl.backend.errors import BackendError, ConfigError
    from scanctl.backend.settings import Settings, load_settings
    from scanctl.backend.store.scope import Scope

__all__ = ["BackendError", "ConfigError", "Scope", "Settings", "create_app", "load_settings"]

_HOMES = {
    "create_app": "scanctl.backend.app",
    "BackendError": "scanctl.backend.errors",
    "ConfigError": "scanctl.backend.errors",
    "Settings": "scanctl.backend.settings",
    "load_settings": "scanctl.backend.settings",
    "Scope": "scanctl.backend.store.scope",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
