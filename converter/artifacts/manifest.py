"""build/models/<name>/manifest.json: what each .nb was made from and how, written atomically after every file
so completed work is never lost."""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from converter.artifacts.app_spec import SPEC_NAME, app_spec, write_spec
from converter.base import atomic_files
from converter.base.errors import ToolkitError
from converter.base.yaml_files import problems
from converter.quant.calibration import CalibrationImage
from converter.schema.manifest_types import Manifest, Recommended
from converter.sources.model_files import sha256_file

log = logging.getLogger(__name__)
MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
# Bump when the way .nb files are produced changes, so existing outputs are rebuilt.
CONVERSION_FORMAT = 5  # 4: attributes and XShape outputs opt 2.13 needs (issue 18); 5: static reshape shapes


def toolkit_version() -> str:
    try:
        return metadata.version("pp-lite-toolkit")
    except metadata.PackageNotFoundError:
        return "unknown"


def nb_name(target: str, precision: str) -> str:
    return f"{target}-{precision}.nb"


class _Stamp(BaseModel):
    """Only the schema version, read before the file is read as a Manifest (another version is rebuilt, not read)."""

    model_config = ConfigDict(extra="ignore")
    schema_version: int = 0


def _raw(model_dir: Path) -> dict[str, Any] | None:
    """The manifest's JSON at the seam (the one place it is parsed), or None: missing, unreadable, another version."""
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = _Stamp.model_validate(data).schema_version
    except (OSError, ValueError) as e:
        log.warning("warning: %s is unreadable (%s); its outputs will be rebuilt", path, e)
        return None
    if version != SCHEMA_VERSION:
        log.warning("warning: %s has another schema version; its outputs will be rebuilt", path)
        return None
    return data  # type: ignore[no-any-return]


class ManifestError(ToolkitError):
    """A manifest does not match converter.schema.manifest_types: a writer's bug (caught before writing), or a file
    edited by hand or written by another version (caught when read)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


UNREADABLE = "not a manifest this toolkit wrote ({problems}); convert the model again (make convert) to rewrite it"
REBUILT = "does not match this toolkit's manifest type ({problems})"
UNWRITABLE = "refusing to write a manifest that does not match its type: {problems}"


def _checked(model_dir: Path, data: Any, message: str) -> Manifest:
    """`data` as a Manifest, or ManifestError("<manifest path>: <message with its {problems}>")."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as e:
        raise ManifestError(model_dir / MANIFEST_NAME, message.format(problems=problems(e, limit=5))) from None


def load(model_dir: Path) -> Manifest | None:
    """The manifest as the converter updates it; None when there is none or it cannot be used (unreadable, another
    schema version, or not of its type, e.g. edited by hand): the model's outputs are then rebuilt."""
    data = _raw(model_dir)
    if data is None:
        return None
    try:
        return _checked(model_dir, data, REBUILT)
    except ManifestError as e:
        log.warning("warning: %s; its outputs will be rebuilt", e)
        return None


def read(model_dir: Path) -> Manifest | None:
    """The manifest as its type, for everything that uses a converted model; None when the model was not converted
    (or its manifest is of another schema version: converting again rebuilds it)."""
    data = _raw(model_dir)
    return None if data is None else _checked(model_dir, data, UNREADABLE)


def _write_checked(model_dir: Path, data: Manifest) -> Manifest:
    """Validate again (fields set after construction are checked here), then write atomically: a manifest that does
    not match its type is never written."""
    dumped = data.model_dump(mode="json")
    checked = _checked(model_dir, dumped, UNWRITABLE)
    atomic_files.write_json(model_dir / MANIFEST_NAME, dumped)
    return checked


def write(model_dir: Path, data: Manifest) -> Path:
    """The manifest (validated against converter.schema.manifest_types.Manifest), then the app-facing model_spec.json
    derived from it."""
    write_spec(model_dir, _write_checked(model_dir, data))
    return model_dir / MANIFEST_NAME


def ensure_spec(model_dir: Path, data: Manifest) -> bool:
    """model_spec.json of an up-to-date model as this toolkit derives it from the manifest: written when it is
    missing (converted before it existed) or differs (an earlier toolkit's defaults, such as its temporal
    parameters). True when it was (re)written."""
    path = model_dir / SPEC_NAME
    current = app_spec(data).model_dump(mode="json")
    try:
        if json.loads(path.read_text(encoding="utf-8")) == current:
            return False
    except (OSError, ValueError):
        pass  # missing or unreadable: written below
    write_spec(model_dir, data)
    return True


def is_up_to_date(
    model_dir: Path,
    manifest: Manifest | None,
    file_name: str,
    inputs_sha256: dict[str, str],
    opt_version: str,
) -> bool:
    """True when `file_name` exists, matches its recorded sha256, and was made from the same inputs and opt."""
    entry = manifest.files.get(file_name) if manifest else None
    nb = model_dir / file_name
    if entry is None or not nb.is_file():
        return False
    if (
        entry.inputs_sha256 != inputs_sha256
        or entry.opt_version != opt_version
        or entry.conversion_format != CONVERSION_FORMAT
        or entry.size_bytes != nb.stat().st_size
    ):
        return False
    return entry.sha256 == sha256_file(nb)


def stale_files(
    wanted: list[tuple[str, str]],
    model_dir: Path,
    *,
    current: Manifest | None,
    inputs_sha256: dict[str, str],
    opt_ver: str,
    fixes_enabled: bool,
    int8_key: str | None = None,
) -> list[tuple[str, str]]:
    """The (target, precision) files to (re)build: missing, of other inputs or opt, of another graph-fix setting,
    or (full int8) quantized from another calibration set or with other settings."""

    def stale(t: str, p: str) -> bool:
        entry = current.files.get(nb_name(t, p)) if current else None
        if entry is None or not is_up_to_date(model_dir, current, nb_name(t, p), inputs_sha256, opt_ver):
            return True
        if entry.graph_fixes_enabled != fixes_enabled:
            return True
        return p == "int8" and (entry.quantization.key if entry.quantization else None) != int8_key

    return [(t, p) for t, p in wanted if stale(t, p)]


LEGACY_NAMES = {"int16": "int16w", "int8": "int8w"}  # weight-only variants before full int8 existed


def migrate_variant_names(model_dir: Path, data: Manifest | None) -> list[str]:
    """Rename the weight-only variants of a manifest written before full int8 existed (`arm-int16.nb` ->
    `arm-int16w.nb`; `arm-int8.nb` -> `arm-int8w.nb` when opt quantized its weights), files and entries together,
    so converted work is kept under today's names. Returns what was renamed, for the log."""
    if data is None:
        return []
    renamed = []
    for name, entry in list(data.files.items()):
        old = entry.precision
        if old not in LEGACY_NAMES or not entry.settings.quant_model:
            continue
        new_name = nb_name(entry.target, LEGACY_NAMES[old])
        if (model_dir / name).is_file():
            (model_dir / name).replace(model_dir / new_name)
        data.files[new_name] = entry.model_copy(update={"precision": LEGACY_NAMES[old]})
        del data.files[name]
        renamed.append(f"{name} -> {new_name} (weight-only {old} is now called {LEGACY_NAMES[old]})")
    if renamed:
        write(model_dir, data)
    return renamed


def calibration_images(data: Manifest, name: str) -> list[CalibrationImage]:
    """Every photo the file `name` was calibrated on (full int8), so evaluation can leave them out."""
    entry = data.files.get(name)
    if entry is None or entry.quantization is None:
        return []
    return [CalibrationImage(i.name, i.sha256, i.phash) for i in entry.quantization.calibration.images]


def set_recommendation(model_dir: Path, device_class: str, entry: Recommended) -> None:
    """Record the variant to ship on `device_class` (benchmark.report.recommend) in the model's manifest."""
    data = load(model_dir)
    if data is None:
        raise ToolkitError(f"{model_dir}: no manifest to record the recommendation in; convert the model first")
    data.recommended[device_class] = entry
    write_spec(model_dir, _write_checked(model_dir, data))  # model_spec.json names the runtime to ship


def pair_sha256(param: Path, weights: Path) -> str:
    """One identity for ncnn's file pair: the sha256 of the .param bytes followed by the .bin bytes."""
    digest = hashlib.sha256()
    for path in (param, weights):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _measured_sha256(model_dir: Path, rec: Recommended) -> str | None:
    """The sha256 of the recommended file as the benchmark identifies it now (None: the file is gone)."""
    path = model_dir / str(rec.file)
    if not path.is_file():
        return None
    if rec.runtime == "ncnn":
        weights = path.with_suffix(".bin")
        return pair_sha256(path, weights) if weights.is_file() else None
    return sha256_file(path)


def current_recommendations(model_dir: Path, data: Manifest | None) -> dict[str, Recommended]:
    """The recommendations whose file is still the one that was measured (a re-converted file voids its own)."""
    out = {}
    for cls, rec in (data.recommended if data else {}).items():
        now = _measured_sha256(model_dir, rec) if rec.precision else None
        if now is not None and rec.nb_sha256 in (None, now):
            out[cls] = rec
    return out
