"""A tiny real HTTP server on 127.0.0.1 that answers whatever the test says (junk too)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Answer", "Loopback", "loopback"]


@dataclass
class Answer:
    """What the server sends: a status and raw body, after ``delay`` seconds; ``hang_up``
    closes the connection without any answer."""

    status: int = 200
    body: bytes = b"{}"
    delay: float = 0.0
    hang_up: bool = False
    content_type: str = "application/json"


@dataclass
class Loopback:
    """The running server: set ``answer`` (or ``route``) between calls; read ``paths``."""

    port: int
    answer: Answer = field(default_factory=Answer)
    routes: dict[str, Answer] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> int:
        return len(self.paths)


@contextmanager
def loopback() -> Iterator[Loopback]:
    """Serve on a free port in a thread until the block ends."""
    state: Loopback

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.paths.append(self.path)
            state.authorization.append(self.headers.get("Authorization"))
            answer = state.routes.get(self.path, state.answer)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.hang_up:
                self.close_connection = True
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the test output stays readable

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # clients hang up on junk on purpose (oversized bodies, timeouts)

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Loopback(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="loopback", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
