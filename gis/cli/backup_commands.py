"""``wangge backup`` / ``wangge restore``: the database and the media folder (photos) in one
archive (issue 24)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        archive: Annotated[Path, typer.Argument(help="The .tar.gz to write.")],
    ) -> None:
        """Back up the database and the photos (WANGGE_MEDIA_DIR) into one archive.

        \b
        wangge backup wangge-2026-12-07.tar.gz
        """
        from gis.cli.common import say
        from gis.field.backup import backup
        from gis.settings import Settings
        from gis.store.cluster import find_bindir
        from gis.store.db import database_url

        settings = Settings()
        files = backup(
            database_url(settings),
            settings.resolved_media_dir(),
            archive,
            bindir=find_bindir(settings.pg_bindir),
        )
        say(f"backed up the database and {files} media files to {archive}")

    @app.command("restore")
    def restore_command(
        archive: Annotated[Path, typer.Argument(help="An archive `wangge backup` wrote.")],
    ) -> None:
        """Restore the database and the photos from an archive of `wangge backup` (the
        database's contents are replaced).

        \b
        wangge restore wangge-2026-12-07.tar.gz
        """
        from gis.cli.common import say
        from gis.field.backup import restore
        from gis.settings import Settings
        from gis.store.cluster import find_bindir
        from gis.store.db import database_url

        settings = Settings()
        files = restore(
            database_url(settings),
            settings.resolved_media_dir(),
            archive,
            bindir=find_bindir(settings.pg_bindir),
        )
        say(f"restored the database and {files} media files from {archive}")
