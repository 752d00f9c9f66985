"""The HTTP server in front of the app (issue 22 A): uvicorn with request heads bounded in size
and in time, and no proxy header trusted by the server itself.

uvicorn's httptools protocol reads request headers without any limit: four requests each
carrying a 100 MB header kept a worker parsing for over a minute, and every other client of
that worker waited. :class:`BoundedHttpProtocol` counts the bytes of each request head (request
line and headers) and starts a clock at its first byte: a head over ``max_header_bytes``
(``WANGGE_MAX_HEADER_BYTES``) is answered 431 at once, one not complete within
``header_timeout_seconds`` (``WANGGE_HEADER_TIMEOUT_SECONDS``) 408; either way the connection
stops being read and is closed shortly after, so the rest of an oversize head is never
processed. ``wangge serve`` and the test servers both start uvicorn through
:func:`server_config`.

``X-Forwarded-For`` is the app's business (:mod:`api.hardening`, ``WANGGE_TRUSTED_PROXIES``):
uvicorn's own handling, which trusts 127.0.0.1 by default, is turned off here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gis.limits import setting_name
from gis.settings import Settings

#: seconds a refused connection stays open (not read) so the client can read the answer
LINGER_S = 1.0


class EdgeConfig(uvicorn.Config):
    """uvicorn's config plus the request-head limits (picklable: workers get a copy)."""

    def __init__(self, app: Any, *, settings: Settings, **kwargs: Any) -> None:
        kwargs.setdefault("http", BoundedHttpProtocol)
        super().__init__(app, proxy_headers=False, server_header=False, **kwargs)
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout_s = settings.header_timeout_seconds


def server_config(app: Any, settings: Settings, **kwargs: Any) -> EdgeConfig:
    """The uvicorn config every wangge server runs with (``app``: the app or its import
    string; ``kwargs``: host, port, workers, ...)."""
    return EdgeConfig(app, settings=settings, **kwargs)


def serve(config: EdgeConfig) -> None:
    """Run the server of ``config`` (as ``uvicorn.run`` does: one process, or a supervisor of
    ``config.workers`` processes sharing one socket)."""
    from uvicorn.supervisors import Multiprocess

    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


class BoundedHttpProtocol(HttpToolsProtocol):
    """httptools' protocol with each request head bounded in bytes and in seconds."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        fields = Settings.model_fields
        self._max_head = int(
            getattr(config, "max_header_bytes", fields["max_header_bytes"].default)
        )
        self._head_timeout = float(
            getattr(config, "header_timeout_s", fields["header_timeout_seconds"].default)
        )
        self._in_head = True  # until this request's headers are complete
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered already: the rest is not even parsed
            return
        if self._in_head and self._head_bytes + len(data) > self._max_head:
            # feed only what fits: the parser never sees more than the limit of one head
            fits = max(self._max_head - self._head_bytes, 0)
            self._head_bytes += fits
            super().data_received(data[:fits])
            if self._in_head and not self.transport.is_closing():
                self._refuse(431, "Request Header Fields Too Large", self._too_large())
                return
            super().data_received(data[fits:])  # the head ended inside this chunk
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self._head_timeout, self._too_slow)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # the next request on this connection starts with its head

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _too_large(self) -> str:
        return (
            f"request line and headers over {self._max_head} bytes "
            f"({setting_name('max_header_bytes')})"
        )

    def _too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._refuse(
                408,
                "Request Timeout",
                f"request headers not complete within {self._head_timeout:g} s "
                f"({setting_name('header_timeout_seconds')})",
            )

    def _refuse(self, status: int, title: str, detail: str) -> None:
        """Answer ``status`` as problem+json, stop reading, close after :data:`LINGER_S`."""
        self._refused = True
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        body = orjson.dumps(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
            | {"field": "headers"}
        )
        head = [
            STATUS_LINE[status],
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.pause_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)
