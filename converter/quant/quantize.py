"""Full-int8 post-training quantization of a model's program (Paddle's PostTrainingQuantization, in a child process),
cached beside the downloads like the stand-ins: the quantized program is rebuilt only when the program, the calibration
set or the settings change. opt then turns its fake-quant ops into int8 kernels (`conv2d/int8_out`, `calib` ops
between)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from converter.base import process
from converter.base.errors import ToolkitError
from converter.base.progress import Progress
from converter.images.preprocess import preprocess
from converter.quant.calibration import AUGMENTATIONS_PER_IMAGE, CalibrationSet, augmented, load_calibration
from converter.schema.manifest_types import InputPreprocess
from converter.schema.zoo import Int8Recipe
from converter.sources.fetch import ModelSource, checksums
from converter.sources.model_files import find_model_files, write_program_folder
from converter.sources.spec import Int8Options, QuantSettings

log = logging.getLogger(__name__)
QUANT_MARK = "QUANT.json"
PROGRAM_DIR = "int8_program"  # the quantized program opt converted, kept beside the .nb (layer-diff cuts it)
TIMEOUT_S = 1800.0
TMP_PREFIX = ".partial-"


class QuantizationError(ToolkitError):
    def __init__(self, model: str, message: str) -> None:
        super().__init__(f"{model}: full int8 quantization failed: {message}")
        self.model = model


AVG_BUG = (
    "the 'avg' calibration algorithm cannot handle this model: Paddle 2.6's post-training quantization reshapes "
    "every sampled tensor by its first dimension and the program has a 0-d one (IndexError in _sample_avg); use "
    "hist (the default), mse or KL"
)


@dataclass
class Quantized:
    source: ModelSource  # the fake-quant program, for opt
    settings: QuantSettings
    calibration: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)  # from the worker: quantized and skipped convolutions
    cache_key: str = ""  # the quantized program's folder in the cache is <model folder>__<cache_key>

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self.settings),
            "skip": list(self.settings.skip),
            "calibration": self.calibration,
            **self.report,
        }


def _worker(*args: str, timeout_s: float = TIMEOUT_S, progress: Progress | None = None) -> process.ProcessResult:
    argv = [sys.executable, "-m", "converter.quant.worker", *args]
    if progress is None:
        return process.run(argv, timeout_s=timeout_s)
    try:
        return process.run(argv, timeout_s=timeout_s, on_stderr_line=progress.feed)
    finally:
        progress.close()


def conv_weights(name: str, source: ModelSource) -> list[str]:
    """The program's convolution weight names in order (the units --skip and the sensitivity pass work on)."""
    files = source.files
    r = _worker(
        "--model-dir", str(files.folder), "--model-file", files.model_file.name, "--params-file",
        files.params_file.name, "--samples", "-", "--out", "-", "--list-convs", timeout_s=300,
    )  # fmt: skip
    if r.returncode != 0:
        raise QuantizationError(name, f"listing the convolutions failed (exit {r.returncode}):\n{r.tail(6)}")
    return list(json.loads(r.stdout.strip().splitlines()[-1]))


def quantize(
    name: str,
    source: ModelSource,
    *,
    calib: CalibrationSet,
    pre: InputPreprocess,
    settings: QuantSettings,
    cache_dir: Path,
) -> Quantized:
    program_sha = source.sha256.get(source.files.model_file.name, "") + source.sha256.get(
        source.files.params_file.name, ""
    )
    cache_key = settings.key(program_sha, calib.sha256)
    dest = cache_dir / "int8" / f"{source.files.folder.name}__{cache_key}"
    mark = dest / QUANT_MARK
    if not mark.is_file():
        try:
            _build(name, source, calib=calib, pre=pre, settings=settings, dest=dest)
        except OSError as e:
            raise QuantizationError(name, f"{e.strerror or e} ({e.filename or dest})") from None
    files = find_model_files(dest)
    report = json.loads((dest / "quant.json").read_text())
    quantized = ModelSource(
        "int8", files, checksums(files), "full int8 (Paddle post-training quantization)", (), source.url
    )
    return Quantized(quantized, settings, calib.to_json(), report, cache_key)


def keep_program(quantized: Quantized, model_dir: Path) -> str:
    """The quantized program (model and params) kept in `model_dir`/int8_program, whole or not at all; returns its
    model file's sha256 (the manifest records it, so a later copy from another quantization is recognised)."""
    files = quantized.source.files
    write_program_folder(files, model_dir / PROGRAM_DIR)
    return quantized.source.sha256[files.model_file.name]


def _sweep_abandoned(cache_dir: Path) -> None:
    """Remove temporary folders a killed quantization left (older than any quantization can take)."""
    cutoff = time.time() - 2 * TIMEOUT_S
    for leftover in cache_dir.glob(TMP_PREFIX + "*"):
        try:
            if leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _build(
    name: str, source: ModelSource, *, calib: CalibrationSet, pre: InputPreprocess, settings: QuantSettings, dest: Path
) -> None:
    """Quantize into a temporary folder beside `dest`, then move it into place (never half a program)."""
    cache_dir = dest.parent
    log.info(
        "%s: full int8 quantization (%s, %d calibration samples from %s)", name, settings.algo, calib.samples,
        calib.folder,
    )  # fmt: skip
    cache_dir.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=TMP_PREFIX) as tmp:
        samples = np.stack([preprocess(img, pre)[0] for img in augmented(calib)]).astype(np.float32)
        np.save(Path(tmp) / "samples.npy", samples)
        out = Path(tmp) / "out"
        files = source.files
        r = _worker(
            "--model-dir", str(files.folder), "--model-file", files.model_file.name, "--params-file",
            files.params_file.name, "--samples", str(Path(tmp) / "samples.npy"), "--out", str(out), "--algo",
            settings.algo, "--weights", settings.weights, "--skip", ",".join(settings.skip),
            progress=Progress(f"{name}: full int8 quantization", unit="calibration batches"),
        )  # fmt: skip
        if r.returncode != 0 or not (out / "quant.json").is_file():
            if "_sample_avg" in r.stderr and "IndexError" in r.stderr:
                raise QuantizationError(name, AVG_BUG)
            why = "timed out" if r.timed_out else f"exit {r.returncode}"
            raise QuantizationError(name, f"the quantization worker failed ({why}):\n{r.tail(8)}")
        for extra in ("deploy.yaml",):
            if (files.folder / extra).is_file():
                shutil.copyfile(files.folder / extra, out / extra)
        meta = {"model": name, "settings": asdict(settings), "calibration": calib.to_json()}
        (out / QUANT_MARK).write_text(json.dumps(meta, indent=2))
        shutil.rmtree(dest, ignore_errors=True)
        out.rename(dest)


@dataclass(frozen=True)
class Int8Plan:
    """What a model's int8 variant will be made from: the calibration set, the settings, the cache."""

    calib: CalibrationSet
    settings: QuantSettings
    cache_dir: Path

    def key(self, inputs_sha256: dict[str, str], fixes_enabled: bool) -> str:
        """Changes whenever the result would: the program's inputs, the graph-fix switch, calibration, settings."""
        program = json.dumps([sorted(inputs_sha256.items()), fixes_enabled])
        return self.settings.key(program, self.calib.sha256)


def int8_plan(recipe: Int8Recipe | None, options: Int8Options, cache_dir: Path) -> Int8Plan:
    """The command line's options over the zoo entry's recipe over the defaults (hist, per-channel, no skip)."""
    settings = QuantSettings(
        algo=options.algo or (recipe.algo if recipe else "hist"),
        weights=options.weights or (recipe.weights if recipe else "channel"),
        skip=tuple(recipe.skip) if recipe else (),
    )
    per_image = options.per_image or (recipe.samples_per_image if recipe else AUGMENTATIONS_PER_IMAGE)
    return Int8Plan(load_calibration(options.calib_dir, per_image), settings, cache_dir)
