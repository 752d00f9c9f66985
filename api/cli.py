"""The ``wangge`` console script: the domain commands of ``gis.cli`` plus ``serve``, which
lives here because serving HTTP is the API's business (``gis`` never imports ``api``)."""

from __future__ import annotations

from typing import Annotated

import typer

from gis.cli import app, run


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [WANGGE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [WANGGE_PORT].")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Worker processes, each holding its own index (default: the CPU count).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs).

    Example: `wangge serve --port 8000 --workers 4`. Each worker builds the current index
    and runs every lookup kernel once before it takes requests (no compile on first call).
    """
    import os

    from gis.cli.common import engine, say
    from gis.settings import Settings

    settings = Settings()
    engine(settings).dispose()  # start + migrate the database before binding the port
    host = host or settings.host
    port = port or settings.port
    say(f"wangge API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    from api.edge import serve as run_server
    from api.edge import server_config

    # issue 22 A: request heads bounded in size and time, proxy headers the app's business
    config = server_config(
        "api.app:app_from_env",
        settings,
        factory=True,
        host=host,
        port=port,
        workers=workers or os.cpu_count() or 1,
        # a worker builds its index (and may load numba code) before it answers uvicorn's
        # health pings; the 5 s default would kill and restart it forever on a big layer
        timeout_worker_healthcheck=120,
        # reliability (issue 16): on SIGTERM each worker stops accepting and drains the
        # requests in flight (an incident being stored is answered, not cut), bounded
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        log_level="info",
    )
    run_server(config)


def main() -> None:
    """Entry point of the ``wangge`` console script."""
    run()
