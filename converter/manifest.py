"""build/models/<name>/manifest.json: what each .nb was made from and how, written atomically after every file
so completed work is never lost."""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

from converter import atomic_files
from converter.app_spec import SPEC_NAME, write_spec
from converter.model_files import sha256_file

log = logging.getLogger(__name__)
MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
# Bump when the way .nb files are produced changes, so existing outputs are rebuilt.
CONVERSION_FORMAT = 3


def toolkit_version() -> str:
    try:
        return metadata.version("pp-lite-toolkit")
    except metadata.PackageNotFoundError:
        return "unknown"


def nb_name(target: str, precision: str) -> str:
    return f"{target}-{precision}.nb"


def load(model_dir: Path) -> dict[str, Any] | None:
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("warning: %s is unreadable (%s); its outputs will be rebuilt", path, e)
        return None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        log.warning("warning: %s has another schema version; its outputs will be rebuilt", path)
        return None
    return data


def write(model_dir: Path, data: dict[str, Any]) -> Path:
    """The manifest, then the app-facing model_spec.json derived from it."""
    path = model_dir / MANIFEST_NAME
    atomic_files.write_json(path, data)
    write_spec(model_dir, data)
    return path


def ensure_spec(model_dir: Path, data: dict[str, Any]) -> None:
    """Up-to-date models converted before model_spec.json existed get one."""
    if not (model_dir / SPEC_NAME).is_file():
        write_spec(model_dir, data)


def is_up_to_date(
    model_dir: Path,
    manifest: dict[str, Any] | None,
    file_name: str,
    inputs_sha256: dict[str, str],
    opt_version: str,
) -> bool:
    """True when `file_name` exists, matches its recorded sha256, and was made from the same inputs and opt."""
    if not manifest:
        return False
    entry = manifest.get("files", {}).get(file_name)
    nb = model_dir / file_name
    if not isinstance(entry, dict) or not nb.is_file():
        return False
    if (
        entry.get("inputs_sha256") != inputs_sha256
        or entry.get("opt_version") != opt_version
        or entry.get("conversion_format") != CONVERSION_FORMAT
        or entry.get("size_bytes") != nb.stat().st_size
    ):
        return False
    return bool(entry.get("sha256") == sha256_file(nb))


def stale_files(
    wanted: list[tuple[str, str]],
    model_dir: Path,
    *,
    current: dict[str, Any] | None,
    inputs_sha256: dict[str, str],
    opt_ver: str,
    fixes_enabled: bool,
) -> list[tuple[str, str]]:
    """The (target, precision) files to (re)build: missing, of other inputs or opt, or of another graph-fix setting."""
    files = (current or {}).get("files", {})
    return [
        (t, p)
        for t, p in wanted
        if not is_up_to_date(model_dir, current, nb_name(t, p), inputs_sha256, opt_ver)
        or files.get(nb_name(t, p), {}).get("graph_fixes_enabled") != fixes_enabled
    ]
