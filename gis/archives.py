"""Checking a .zip before GDAL reads it (issue 16): zip bombs and path tricks are refused
from the central directory alone, before a byte is decompressed.

wangge never extracts an archive to disk (GDAL reads members in place through ``/vsizip/``),
so a member named ``../../etc/x`` could not be written anywhere; it is refused all the same,
since no honest Shapefile archive holds one and a later change might extract.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from gis.errors import InvalidInput, PayloadTooLarge
from gis.limits import RATIO_FLOOR_BYTES, FileLimits, setting_name

CHUNK_BYTES = 1024**2


def _unsafe_name(name: str) -> str | None:
    """Why a member name is refused (absolute, drive letter, ``..``), or None."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(name).drive:
        return "an absolute path"
    if ".." in posix.parts:
        return "a path leaving the archive (..)"
    if "\x00" in name:
        return "a NUL byte in its name"
    return None


def check_archive(path: Path, limits: FileLimits) -> None:
    """Raise unless every member of the zip at ``path`` is a plain file with a safe relative
    name, the members together expand to at most ``limits.max_archive_bytes`` and no member
    over 1 MiB is compressed more than ``limits.max_archive_ratio`` times.

    The declared sizes are checked first; then every member is decompressed once into
    nothing, which stops at the declared size and checks the CRC, so an archive lying about
    its sizes is refused too (it costs one pass over at most ``max_archive_bytes``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(path, archive.infolist(), limits)
            for member in archive.infolist():
                with archive.open(member) as data:
                    while data.read(CHUNK_BYTES):
                        pass
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InvalidInput(f"{path}: not a readable zip archive: {exc}", field="file") from None


def _check_members(path: Path, members: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    """The checks on the central directory (names, links, declared sizes)."""
    total = 0
    for member in members:
        where = f"{path}: member {member.filename!r}"
        reason = _unsafe_name(member.filename)
        if reason is not None:
            raise InvalidInput(f"{where} has {reason}; refused", field="file")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise InvalidInput(f"{where} is a symbolic link; refused", field="file")
        total += member.file_size
        if total > limits.max_archive_bytes:
            raise PayloadTooLarge(
                f"{path}: expands to more than {limits.max_archive_bytes:,} bytes "
                f"({setting_name('max_archive_bytes')}); refused before extracting",
                field="file",
                limit=limits.max_archive_bytes,
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_archive_ratio:
            raise PayloadTooLarge(
                f"{where} is compressed {ratio:,.0f}:1; at most "
                f"{limits.max_archive_ratio:,.0f}:1 ({setting_name('max_archive_ratio')}), "
                "a zip bomb guard; refused before extracting",
                field="file",
                limit=limits.max_archive_ratio,
            )
