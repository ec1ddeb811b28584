"""Writes that never leave a half-written file under its final name."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def partial_dir(dest: Path) -> Path:
    """A fresh, empty folder beside `dest` to fill before `publish_dir` (named per process: two processes may fill
    the same destination at once)."""
    partial = dest.with_name(f"{dest.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def publish_dir(partial: Path, dest: Path) -> None:
    """Move a filled folder to `dest`, replacing what was there. If another process publishes the same destination
    between the removal and the rename, its folder stays and ours is dropped: both were made from the same inputs."""
    shutil.rmtree(dest, ignore_errors=True)
    try:
        partial.rename(dest)
    except OSError:
        if not dest.is_dir():
            raise
        shutil.rmtree(partial, ignore_errors=True)
