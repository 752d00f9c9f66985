"""Backup and restore of the database together with the media folder (photos): one archive,
so the files and the rows that name them travel together.

The archive (``.tar.gz``) holds ``database.dump`` (``pg_dump --format=custom``) and
``media/``. Restoring replaces the database's contents (``pg_restore --clean``) and puts the
media files back (files already there are kept: their names are their content hashes).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from gis.errors import InvalidInput

DUMP = "database.dump"
MEDIA = "media"


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (``postgresql+psycopg://`` → ``postgresql://``)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def backup(url: str, media_dir: Path, archive: Path, *, bindir: Path) -> int:
    """Write the database and the media folder to ``archive``; returns the media files'
    count."""
    with tempfile.TemporaryDirectory() as folder:
        dump = Path(folder) / DUMP
        subprocess.run(
            [
                str(bindir / "pg_dump"),
                "--format=custom",
                "--no-owner",
                "--file",
                str(dump),
                "--dbname",
                libpq_url(url),
            ],
            check=True,
        )
        files = 0
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(dump, DUMP)
            if media_dir.is_dir():
                for path in sorted(media_dir.rglob("*")):
                    if path.is_file() and not path.name.endswith(".part"):
                        tar.add(path, f"{MEDIA}/{path.relative_to(media_dir)}")
                        files += 1
    return files


def restore(url: str, media_dir: Path, archive: Path, *, bindir: Path) -> int:
    """Put the database and the media files of ``archive`` back; returns the media files'
    count."""
    with tempfile.TemporaryDirectory() as folder, tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        if DUMP not in names:
            raise InvalidInput(f"{archive} is not a wangge backup (no {DUMP})", field="archive")
        tar.extractall(folder, filter="data")
        subprocess.run(
            [
                str(bindir / "pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                libpq_url(url),
                str(Path(folder) / DUMP),
            ],
            check=True,
        )
        files = 0
        source = Path(folder) / MEDIA
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    target = media_dir / path.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not target.exists():
                        shutil.copyfile(path, target)
                    files += 1
    return files
