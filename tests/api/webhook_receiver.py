"""A real HTTP receiver for webhook tests: a threaded server on loopback that records each
POST (path, headers, body, time), answers 204, and can be stopped and started again on the
same port."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from gis.events.webhook import verify
from tests.conftest import free_port


@dataclass
class Receipt:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        out: dict[str, Any] = orjson.loads(self.body)
        return out

    def verifies(self, secret: str) -> bool:
        """Whether the signature verifies and was made within 30 s of the receipt (checked
        as the receiver would, at receipt time, not when the test looks)."""
        header = self.headers.get("wangge-signature", "")
        if not verify(secret, self.body, header, tolerance_s=None):
            return False
        made = int(dict(p.split("=", 1) for p in header.split(","))["t"])
        return abs(self.at - made) <= 30


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    receipts: list[Receipt] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner._lock:
                    owner.receipts.append(Receipt(self.path, headers, body, time.time()))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)
