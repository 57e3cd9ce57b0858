"""Run the backend under uvicorn, programmatically, with a graceful SIGTERM drain.

On SIGTERM or SIGINT: `/ready` turns 503 at once; after `shutdown_drain_seconds`
(default 0: load balancers get that long to notice) uvicorn stops accepting, in-flight
requests finish (bounded by `shutdown_timeout_seconds`), the lifespan closes the
database, and `serve()` returns normally so the process exits 0. A second signal skips
the drain delay; a second SIGINT after that forces.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
from collections.abc import Generator
from types import FrameType

import uvicorn
from fastapi import FastAPI

from scanctl.backend.app import create_app
from scanctl.backend.db.engine import create_database
from scanctl.backend.db.guard import isolation_problems
from scanctl.backend.db.migrate import upgrade
from scanctl.backend.http_guard import ConnectionLimits, guarded_protocol
from scanctl.backend.lifecycle import Lifecycle
from scanctl.backend.settings import Settings
from scanctl.backend.state import backend_state

__all__ = ["BackendServer", "DatabaseUnreachable", "build_server", "database_problems", "serve"]

_HANDLED = (signal.SIGINT, signal.SIGTERM)


class BackendServer(uvicorn.Server):
    """uvicorn's server, told about our lifecycle so `/ready` reports the drain."""

    def __init__(
        self, config: uvicorn.Config, lifecycle: Lifecycle, drain_seconds: float = 0
    ) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.drain_seconds = drain_seconds
        self._drain_timer: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain (after the delay). Again: stop now. A third SIGINT: force."""
        self.lifecycle.start_draining()
        if self.drain_seconds > 0 and self._drain_timer is None and not self.should_exit:
            # uvicorn's main loop polls should_exit; setting it later keeps serving meanwhile.
            self._drain_timer = threading.Timer(
                self.drain_seconds, super().handle_exit, args=(sig, frame)
            )
            self._drain_timer.daemon = True
            self._drain_timer.start()
            return
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn re-raises the captured signal after serving, which would end the
        # process with "killed by SIGTERM"; a drained shutdown is a normal exit.
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in _HANDLED}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


FILES_KEPT_SPARE = 64
"""File descriptors left for the database, logs and the listening socket."""


def connection_bound(wanted: int) -> int:
    """``wanted``, or less when the process may not open that many files (RLIMIT_NOFILE):
    an accepted socket past the limit would fail with EMFILE instead of being refused."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - FILES_KEPT_SPARE))


class DatabaseUnreachable(Exception):
    """The database could not be reached at start (the message is one line)."""


def database_problems(settings: Settings) -> list[str]:
    """Why the database must not be served from, one line each, found before the port is
    bound (empty: it may). On PostgreSQL: migrated first when ``AUTO_MIGRATE`` says so,
    then the role and tables checked as the lifespan would (`db.guard`), so a superuser or
    a table owner is refused with exit status 2, not a traceback from the lifespan.

    Raises DatabaseUnreachable when it cannot connect.
    """
    if settings.is_sqlite:
        return []  # nothing to check: one venue, one file, no roles
    from sqlalchemy.exc import DBAPIError

    database = create_database(settings.effective_database_url)
    try:
        if settings.should_auto_migrate:
            upgrade(database.engine)
        return isolation_problems(database.engine)
    except DBAPIError as exc:
        first = str(exc.orig or exc).strip().splitlines()
        raise DatabaseUnreachable(first[0] if first else type(exc).__name__) from None
    finally:
        database.close()


def build_server(settings: Settings, app: FastAPI | None = None) -> BackendServer:
    """A server for the settings (host, port, connection limits, keep-alive, drain
    timeout, log level)."""
    app = app if app is not None else create_app(settings)
    limits = ConnectionLimits(
        max_connections=connection_bound(settings.max_connections),
        max_header_bytes=settings.max_header_bytes,
        header_timeout_s=settings.header_timeout_seconds,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        timeout_keep_alive=int(settings.keep_alive_seconds),
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
        log_level=settings.log_level,
        # The entry point set up logging (scanctl.logs); uvicorn must not rewire it.
        log_config=None,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )
    return BackendServer(config, backend_state(app).lifecycle, settings.shutdown_drain_seconds)


def serve(settings: Settings) -> bool:
    """Serve until a signal; True when the server started and shut down cleanly."""
    server = build_server(settings)
    server.run()
    return server.started
