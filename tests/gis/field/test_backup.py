"""``wangge backup`` / ``wangge restore``: the database and the media folder together."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gis.store.db import make_engine


def run(*args: str) -> None:
    from gis.cli import app

    with pytest.raises(SystemExit) as done:
        app(list(args), standalone_mode=True)
    assert done.value.code == 0


def test_backup_and_restore_carry_rows_and_media(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    monkeypatch.setenv("WANGGE_MEDIA_DIR", str(media))
    run("db", "migrate")
    engine = make_engine(fresh_db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO data_versions (name, version) VALUES ('backup-test', 7)"))
    photo = media / "ab" / ("ab" + "0" * 62 + ".jpg")
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 a photo")
    archive = tmp_path / "backup.tar.gz"
    run("backup", str(archive))
    photo.unlink()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM data_versions WHERE name = 'backup-test'"))
    run("restore", str(archive))
    assert photo.read_bytes() == b"\xff\xd8 a photo"
    with engine.connect() as conn:
        restored = conn.execute(
            text("SELECT version FROM data_versions WHERE name = 'backup-test'")
        ).scalar_one()
    engine.dispose()
    assert restored == 7
