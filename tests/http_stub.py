"""A small HTTP server on a free loopback port for tests that make the app fetch from
the outside (GIF providers, link previews): each path answers what the test put there,
and every request it got is kept (path, query, headers) to assert what was sent."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Written in pieces without Content-Length (a body whose size is not announced).
    chunked: bool = False


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class Stall:
    """A route (one object on any number of paths) that holds every request it gets
    until the test calls `release()`, then answers `answer`: a page that never answers
    for as long as the test looks. It counts the requests held now and the most held
    at once, so a test can see fetches run side by side."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer or Answer(504, b"gave up")
        self.released = threading.Event()
        self.held = 0
        self.most_held = 0
        self._changed = threading.Condition()

    def __call__(self, seen: Seen) -> Answer:
        with self._changed:
            self.held += 1
            self.most_held = max(self.most_held, self.held)
            self._changed.notify_all()
        try:
            self.released.wait(60)  # a test that forgets to release still ends
            return self.answer
        finally:
            with self._changed:
                self.held -= 1
                self._changed.notify_all()

    def wait_held(self, count: int, timeout: float = 20) -> bool:
        """Whether `count` requests are held at once before `timeout` (a bound for a
        test that fails, not a measure)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held >= count, timeout)

    def release(self) -> None:
        self.released.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (a refused oversize page) is expected


class StubServer:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) files to serve https."""
        self.routes: dict[str, Answer | Callable[[Seen], Answer]] = {}
        # What every test starts with (tests/gif_stub.py installs the GIF providers).
        self.defaults: dict[str, Answer | Callable[[Seen], Answer]] = {}
        self.requests: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(parts.path, parse_qs(parts.query), dict(self.headers.items()))
                stub.requests.append(seen)
                route = stub.routes.get(parts.path, Answer(404, b"not here"))
                answer = route(seen) if callable(route) else route
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(answer.body), 8192):
                        piece = answer.body[start:start + 8192]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> StubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.routes.clear()
        self.routes.update(self.defaults)
        self.requests.clear()

    def html(self, path: str, text: str, **headers: str) -> None:
        self.routes[path] = Answer(200, text.encode(), {
            "Content-Type": "text/html; charset=utf-8", **headers})

    def json(self, path: str, value: Any, status: int = 200) -> None:
        self.routes[path] = Answer(status, json.dumps(value).encode(),
                                   {"Content-Type": "application/json"})

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = Answer(status, b"", {"Location": location})

    def hits(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen.path == path)
