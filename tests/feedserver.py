"""A local HTTP server for the feed tests: fixture feeds and news pages on 127.0.0.1.

Each path maps to a `Route` (body, content type, status, extra headers, behaviour). The server
answers conditional requests as a real one does (ETag and Last-Modified, 304 when they match),
can gzip, and can misbehave on purpose: a slow answer, a redirect loop, an endless body.
Every request is recorded with its headers.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LAST_MODIFIED = "Tue, 05 Mar 2024 10:00:00 GMT"


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up early (a fetch that gave up or was killed) is no error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    delay: float = 0.0
    redirect: str = ""
    endless: int = 0  # bytes of body streamed without a Content-Length


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class FeedServer:
    """Serve `routes` on a free port of 127.0.0.1 in a background thread (a context manager)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.active = 0
        self.most_active = 0  # the most requests being answered at once
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def requested(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self._answer(handler)
        finally:
            with self._lock:
                self.active -= 1

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.requests.append(Request(path, {k.lower(): v for k, v in handler.headers.items()}))
            route = self.routes.get(path.split("?")[0]) or self.routes.get(path)
        if route is None:
            self._send(handler, 404, b"<html><body>Not found</body></html>", {"Content-Type": "text/html"})
            return
        if route.delay:
            time.sleep(route.delay)
        if route.redirect:
            self._send(handler, 302, b"", {"Location": route.redirect})
            return
        if route.endless:
            handler.send_response(200)
            handler.send_header("Content-Type", route.content_type)
            handler.send_header("Connection", "close")
            handler.end_headers()
            chunk = b"<item>" + b"x" * 65530 + b"</item>"
            try:
                for _ in range(route.endless // len(chunk) + 1):
                    handler.wfile.write(chunk)
            except OSError:
                pass
            handler.close_connection = True
            return
        etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
        headers = {"Content-Type": route.content_type, "ETag": etag, "Last-Modified": LAST_MODIFIED, **route.headers}
        if route.status == 200 and handler.headers.get("If-None-Match") == etag:
            self._send(handler, 304, b"", {"ETag": etag})
            return
        body = route.body
        if route.gzip and "gzip" in handler.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(handler, route.status, body, headers)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if body:
            handler.wfile.write(body)


def serve() -> Iterator[FeedServer]:
    """A running server, for a fixture."""
    with FeedServer() as server:
        yield server
