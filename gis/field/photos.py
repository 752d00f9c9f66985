"""Incident photos: checked, cleaned and stored content-addressed on disk, metadata in
PostgreSQL.

- Accepted: JPEG, PNG, WebP and HEIC/HEIF (decoded by Pillow and pillow-heif), decided by
  the content, never by the file name or the client's media type; over the size or pixel
  limit, or not decodable, is refused.
- Location metadata (the EXIF GPS block) is removed unless the deployment keeps it
  (``WANGGE_PHOTO_KEEP_GPS``); the capture time (EXIF DateTimeOriginal) is kept, in the file
  and in the row. HEIC is stored as JPEG (browsers do not show HEIC).
- Stored under the media folder as ``<first two hex>/<sha256>.<ext>`` (the same photo twice is
  one file), with a 320-pixel JPEG thumbnail beside it.
- Deleting a photo marks its row deleted (the caller audits it); its file stays while any
  other row uses it.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from gis.access import Scope
from gis.errors import InvalidInput, NotFound, PayloadTooLarge
from gis.store.models import INCIDENT_PHOTOS, INCIDENTS, PHOTO_STAGES

#: stored format per decoded format: (Pillow format, extension, media type)
_STORED: Final[dict[str, tuple[str, str, str]]] = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "MPO": ("JPEG", "jpg", "image/jpeg"),  # phones' JPEG with a depth map
    "PNG": ("PNG", "png", "image/png"),
    "WEBP": ("WEBP", "webp", "image/webp"),
    "HEIF": ("JPEG", "jpg", "image/jpeg"),
}
GPS_IFD: Final = 0x8825
EXIF_IFD: Final = 0x8769
DATETIME_ORIGINAL: Final = 36867
DATETIME: Final = 306
THUMB_PX: Final = 320


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 50_000_000
    keep_gps: bool = False


@dataclass(frozen=True)
class Cleaned:
    """A photo ready to store."""

    data: bytes
    thumb: bytes
    media_type: str
    extension: str
    width: int
    height: int
    taken_at: datetime | None
    sha256: str


def _open_image(raw: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError
    from pillow_heif import register_heif_opener

    register_heif_opener()
    try:
        return Image.open(io.BytesIO(raw))
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput(
            "not a photo this service reads (JPEG, PNG, WebP or HEIC)", field="photo"
        ) from None


def clean(raw: bytes, limits: Limits) -> Cleaned:
    """Check and clean one uploaded photo (see the module's rules)."""
    from PIL import Image, ImageOps

    if len(raw) > limits.max_bytes:
        raise PayloadTooLarge(
            f"a photo may have at most {limits.max_bytes} bytes (WANGGE_PHOTO_MAX_BYTES)",
            field="photo",
            limit=limits.max_bytes,
        )
    if not raw:
        raise InvalidInput("the photo is empty", field="photo")
    image = _open_image(raw)
    kind = (image.format or "").upper()
    if kind not in _STORED:
        raise InvalidInput(
            f"{kind or 'this'} images are not accepted: JPEG, PNG, WebP or HEIC", field="photo"
        )
    width, height = image.size
    if width * height > limits.max_pixels:
        raise InvalidInput(
            f"a photo may have at most {limits.max_pixels} pixels (WANGGE_PHOTO_MAX_PIXELS)",
            field="photo",
        )
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise InvalidInput("the photo is damaged or cut short", field="photo") from None
    exif = image.getexif()
    taken_at = _taken_at(exif)
    if not limits.keep_gps and GPS_IFD in exif:
        del exif[GPS_IFD]
    pil_format, extension, media_type = _STORED[kind]
    out = io.BytesIO()
    picture = image if pil_format != "JPEG" or image.mode in ("RGB", "L") else image.convert("RGB")
    options: dict[str, Any] = {"exif": exif.tobytes()} if len(exif) else {}
    if pil_format == "JPEG":
        options.update(quality=90)
    picture.save(out, format=pil_format, **options)
    data = out.getvalue()
    thumb_image = ImageOps.exif_transpose(image.copy()).convert("RGB")
    thumb_image.thumbnail((THUMB_PX, THUMB_PX))
    thumb = io.BytesIO()
    thumb_image.save(thumb, format="JPEG", quality=75)
    return Cleaned(
        data=data,
        thumb=thumb.getvalue(),
        media_type=media_type,
        extension=extension,
        width=width,
        height=height,
        taken_at=taken_at,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _taken_at(exif: Any) -> datetime | None:
    """The capture time from EXIF (DateTimeOriginal, else DateTime), as written by the
    camera (local time without a zone: kept as it reads, tagged UTC for storage)."""
    value = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def path_of(media_dir: Path, sha256: str, extension: str) -> Path:
    return media_dir / sha256[:2] / f"{sha256}.{extension}"


def thumb_path(media_dir: Path, sha256: str) -> Path:
    return media_dir / sha256[:2] / f"{sha256}.thumb.jpg"


def _write(path: Path, data: bytes) -> None:
    """Write once, atomically (a file already there has the same content: its name is its
    hash)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + f".{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


def store_photo(
    conn: Connection,
    media_dir: Path,
    incident_id: int,
    photo: Cleaned,
    *,
    stage: str = "other",
    key: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """Write the files and the row; returns the photo as :func:`photo_list` shows it."""
    if stage not in PHOTO_STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(PHOTO_STAGES)}", field="stage")
    _write(path_of(media_dir, photo.sha256, photo.extension), photo.data)
    _write(thumb_path(media_dir, photo.sha256), photo.thumb)
    ident = conn.execute(
        insert(INCIDENT_PHOTOS)
        .values(
            incident_id=incident_id,
            sha256=photo.sha256,
            media_type=photo.media_type,
            width=photo.width,
            height=photo.height,
            bytes=len(photo.data),
            stage=stage,
            taken_at=photo.taken_at,
            uploaded_at=datetime.now(UTC),
            key_id=key[0],
            key_name=key[1],
        )
        .returning(INCIDENT_PHOTOS.c.id)
    ).scalar_one()
    return _entry(ident, stage, photo.taken_at, photo.media_type, key[1])


def _entry(
    ident: int, stage: str, taken_at: datetime | None, media_type: str, by: str | None
) -> dict[str, Any]:
    return {
        "id": ident,
        "url": f"/v1/photos/{ident}",
        "thumb_url": f"/v1/photos/{ident}/thumb",
        "stage": stage,
        "taken_at": taken_at.isoformat() if taken_at else None,
        "media_type": media_type,
        "by": by,
    }


def photo_list(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The incident's photos (not deleted), oldest first."""
    P = INCIDENT_PHOTOS.c
    rows = conn.execute(
        select(P.id, P.stage, P.taken_at, P.media_type, P.key_name)
        .where(P.incident_id == incident_id, P.deleted_at.is_(None))
        .order_by(P.id)
    )
    return [_entry(*r) for r in rows]


def photo_urls(conn: Connection, incident_id: int) -> list[str]:
    """The URLs of the incident's photos (the incident JSON's ``photos``)."""
    return [p["url"] for p in photo_list(conn, incident_id)]


def first_photos(conn: Connection, incident_ids: list[int]) -> dict[int, int]:
    """incident id -> the id of its first photo, for those that have one."""
    if not incident_ids:
        return {}
    P = INCIDENT_PHOTOS.c
    rows = conn.execute(
        select(P.incident_id, func.min(P.id))
        .where(P.incident_id.in_(incident_ids), P.deleted_at.is_(None))
        .group_by(P.incident_id)
    )
    return {int(i): int(p) for i, p in rows}


@dataclass(frozen=True)
class StoredPhoto:
    id: int
    incident_id: int
    path: Path
    thumb: Path
    media_type: str


def find_photo(conn: Connection, media_dir: Path, photo_id: int) -> StoredPhoto:
    """A photo's files and incident (NotFound when absent or deleted)."""
    P = INCIDENT_PHOTOS.c
    row = conn.execute(
        select(P.incident_id, P.sha256, P.media_type).where(
            P.id == photo_id, P.deleted_at.is_(None)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no photo {photo_id}", field="photo_id")
    extension = next(e for f, e, m in _STORED.values() if m == row.media_type)
    return StoredPhoto(
        photo_id,
        row.incident_id,
        path_of(media_dir, row.sha256, extension),
        thumb_path(media_dir, row.sha256),
        row.media_type,
    )


def check_incident(conn: Connection, incident_id: int, scope: Scope) -> None:
    """NotFound unless the incident exists in ``scope`` (the same answer either way)."""
    found = conn.execute(
        select(INCIDENTS.c.id).where(INCIDENTS.c.id == incident_id, scope.incidents(INCIDENTS))
    ).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}", field="id")


def delete_photo(conn: Connection, photo_id: int) -> None:
    """Mark the photo deleted (its row stays for the record)."""
    P = INCIDENT_PHOTOS.c
    done = conn.execute(
        update(INCIDENT_PHOTOS)
        .where(P.id == photo_id, P.deleted_at.is_(None))
        .values(deleted_at=datetime.now(UTC))
    )
    if not done.rowcount:
        raise NotFound(f"no photo {photo_id}", field="photo_id")
