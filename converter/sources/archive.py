"""Safe extraction of downloaded model archives (.zip, .tar, .tar.gz): no member may escape the target folder,
no links or device files, and a bound on the unpacked size."""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from converter.base.errors import ToolkitError

MAX_UNPACKED_BYTES = 4 << 30


class ArchiveError(ToolkitError):
    """The archive is unreadable or unsafe to extract."""


def _check_member(archive: Path, name: str) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise ArchiveError(
            f"{archive}: member {name!r} would be written outside the extraction folder; refusing the archive"
        )
    return p


def extract(archive: Path, dest: Path) -> None:
    """Extract `archive` into the existing empty folder `dest`, or raise ArchiveError."""
    total = 0
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:
                    _check_member(archive, info.filename)
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        raise ArchiveError(f"{archive}: member {info.filename!r} is a symbolic link; refusing")
                    total += info.file_size
                if total > MAX_UNPACKED_BYTES:
                    raise ArchiveError(f"{archive}: unpacks to {total} bytes, over the {MAX_UNPACKED_BYTES} limit")
                for info in infos:
                    target = dest.joinpath(*_check_member(archive, info.filename).parts)
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, target.open("wb") as out:
                        shutil.copyfileobj(src, out)
            return
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for m in members:
                    _check_member(archive, m.name)
                    if not (m.isfile() or m.isdir()):
                        raise ArchiveError(f"{archive}: member {m.name!r} is a link or special file; refusing")
                    total += m.size
                if total > MAX_UNPACKED_BYTES:
                    raise ArchiveError(f"{archive}: unpacks to {total} bytes, over the {MAX_UNPACKED_BYTES} limit")
                tf.extractall(dest, members=members, filter="data")
            return
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise ArchiveError(f"{archive}: cannot be extracted: {e}") from e
    raise ArchiveError(f"{archive}: not a zip or tar archive (the download may be an HTML error page)")
