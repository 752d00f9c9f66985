"""Call an ASGI app directly, many times, in this process (no sockets, no server): the app's
own CPU cost per request, which the machine's load does not change much (``bench/serve.py``
prints it beside the wrk figures; ``--profile`` runs it under pyinstrument)."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def _one(app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def cpu_per_request(
    app: Any, path: str, query: str, key: str, n: int
) -> tuple[float, float, int]:
    """(CPU µs, wall µs) per request over ``n`` sequential requests, and the last status."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"x-api-key", key.encode())]
    status = await _one(app, path, query.encode(), headers)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        status = await _one(app, path, query.encode(), headers)
    cpu = (time.process_time() - cpu0) / n * 1e6
    wall = (time.perf_counter() - wall0) / n * 1e6
    return cpu, wall, status


def run(app: Any, coro: Any) -> Any:
    """Run ``coro`` inside the app's lifespan (engine, assigner, key verifier)."""

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            return await coro

    return asyncio.run(main())
