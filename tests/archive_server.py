"""A real HTTP server on 127.0.0.1 for sync tests: serves an archive held in memory, with
ETag and Last-Modified validators (answering 304 to a request that sends them back), and
can be told to fail a path with a 500 or to cut a path's body off halfway."""

from __future__ import annotations

import email.utils
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Site:
    """What the server serves, changed by the tests between passes."""

    files: dict[str, bytes] = field(default_factory=dict)
    #: Paths answered 500 Internal Server Error.
    failing: set[str] = field(default_factory=set)
    #: Paths whose body stops halfway (the full Content-Length is announced).
    cut: set[str] = field(default_factory=set)
    #: Whether ETag and Last-Modified are sent (and honoured).
    validators: bool = True
    #: Paths answered 301 Moved Permanently, to the path given.
    moved: dict[str, str] = field(default_factory=dict)
    #: Close each connection after its answer without saying so, as a server does with a
    #: kept-alive connection it finds idle too long.
    drop_idle: bool = False
    #: (path with query, status) of every request, in order.
    log: list[tuple[str, int]] = field(default_factory=list)
    modified_at: dict[str, str] = field(default_factory=dict)
    clock: int = 1_790_000_000

    def put(self, path: str, data: bytes) -> None:
        """Serve ``data`` at ``path``; a changed file gets a later Last-Modified."""
        if self.files.get(path) != data:
            self.clock += 60
            self.modified_at[path] = email.utils.formatdate(self.clock, usegmt=True)
        self.files[path] = data

    def statuses(self, path: str) -> list[int]:
        return [status for logged, status in self.log if logged.split("?")[0] == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            data = site.files.get(path)
            if path in site.moved:
                self._answer(301, b"moved", {"Location": site.moved[path]})
            elif path in site.failing:
                self._answer(500, b"internal error")
            elif data is None:
                self._answer(404, b"not found")
            else:
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                modified = site.modified_at[path]
                if site.validators and (
                    self.headers.get("If-None-Match") == etag
                    or self.headers.get("If-Modified-Since") == modified
                ):
                    self._answer(304, b"")
                    return
                headers = {"ETag": etag, "Last-Modified": modified} if site.validators else {}
                self._answer(200, data, headers, cut=path in site.cut)

        def _answer(
            self, status: int, body: bytes, headers: dict[str, str] | None = None, cut: bool = False
        ) -> None:
            site.log.append((self.path, status))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            if cut:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if cut else body)
            if cut or site.drop_idle:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(site: Site) -> Iterator[str]:
    """Serve ``site`` on a free port of 127.0.0.1 for the block; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
