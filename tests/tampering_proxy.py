"""A dishonest server in front of an honest one: forwards every HTTP request to Samtal, except the paths it is
told to answer itself (a changed script, another release's service worker or manifest). Loopback only, for
the tests of the signed release (web/release.py)."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "content-length"}


class TamperingProxy:
    def __init__(self, backend: str) -> None:
        self.backend = urlsplit(backend)
        self.overrides: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.lock = threading.Lock()

    def answer(self, path: str, body: bytes, content_type: str) -> None:
        with self.lock:
            self.overrides[path] = (body, content_type)

    def honest(self) -> None:
        with self.lock:
            self.overrides.clear()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, list, bytes]:
        with self.lock:
            override = self.overrides.get(urlsplit(path).path)
        if override is not None:
            return 200, [("content-type", override[1]), ("cache-control", "no-cache")], override[0]
        connection = http.client.HTTPConnection(self.backend.hostname, self.backend.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


@contextmanager
def tampering_proxy(backend: str) -> Iterator[tuple[str, TamperingProxy]]:
    proxy = TamperingProxy(backend)

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = f"{proxy.backend.hostname}:{proxy.backend.port}"
            if "Origin" in headers:  # the server checks the origin of state-changing requests
                headers["Origin"] = f"{proxy.backend.scheme}://{proxy.backend.netloc}"
            status, response_headers, content = proxy.forward(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in response_headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _relay

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", proxy
    finally:
        server.shutdown()
        server.server_close()
