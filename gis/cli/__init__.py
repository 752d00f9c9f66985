"""The ``wangge`` command line (Typer). Every command calls the same ``gis`` functions as
the HTTP API; errors are printed as one clear message with a non-zero exit status."""

from __future__ import annotations

import sys

from gis.cli.app import app
from gis.errors import Unavailable, WanggeError

__all__ = ["app", "main", "run"]


def main() -> None:
    """Run the domain commands (``api.cli.main`` adds ``serve``)."""
    run()


def run() -> None:
    """Run ``app`` on ``sys.argv``: a domain error is one line on stderr and exit 2 (bad
    input) or 1 (the database is unavailable)."""
    try:
        app(standalone_mode=False)
    except WanggeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1 if isinstance(exc, Unavailable) else 2)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors
        import click
        import typer

        # typer >= 0.26 raises its own vendored click's exceptions, older typer click's
        if isinstance(exc, click.exceptions.ClickException | typer.TyperException) and hasattr(
            exc, "show"
        ):
            exc.show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if isinstance(exc, click.exceptions.Abort | typer.Abort):
            sys.exit(1)
        raise
