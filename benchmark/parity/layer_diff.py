"""Which layer breaks a variant: the program opt converted is cut at every float tensor an op writes (converter.
program_cut), each cut is converted with opt to the variant on ARM and run by the real ARM runtime under QEMU
(`lite_run`, binary float32 output), and compared with desktop Paddle Inference fp32 on the same cut and input:
cosine similarity, max abs diff, and that diff relative to the tensor's largest magnitude. The first op whose
relative diff exceeds the tolerance is where the variant departs.

What can be matched: a cut is its own model, so opt fuses within it but never across it (a convolution cut before
its batch norm runs as a convolution alone); a cut opt cannot convert, or whose output is not the cut tensor, is
listed as not matched with the reason, never guessed."""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark import progress
from benchmark.emulated.arm_runtime import run_lite
from converter import manifest
from converter.errors import ToolkitError, UsageError
from converter.graph_fix_apply import FIXED_DIR
from converter.model_files import ModelFiles
from converter.opt import ConversionError, run_opt
from converter.program_cut import CutPoint, cut_points, cut_program
from converter.reference import ReferenceRunner

log = logging.getLogger(__name__)
PRECISIONS = ("fp16",)  # full int8 cuts need the quantized program: not yet (docs/parity.md)
# a tensor whose fp32 values are all below this is zero for the comparison: fp16 flushes a dead branch's 1e-25 to
# exactly 0, which is no departure (measured: portrait V2-Lite's first squeeze-excitation reduce conv)
MAGNITUDE_FLOOR = 1e-6


@dataclass(frozen=True)
class LayerRow:
    index: int
    op_type: str
    tensor: str
    shape: list[int] = field(default_factory=list)
    cosine: float | None = None
    max_abs_diff: float | None = None
    relative_diff: float | None = None  # max_abs_diff / max(max |reference|, MAGNITUDE_FLOOR)
    departs: bool | None = None  # None: not matched
    not_matched: str | None = None


@dataclass
class LayerDiff:
    model: str
    precision: str
    tolerance: float
    program: str
    rows: list[LayerRow]

    @property
    def first_departure(self) -> LayerRow | None:
        return next((r for r in self.rows if r.departs), None)

    def to_json(self) -> dict[str, Any]:
        first = self.first_departure
        return {
            "model": self.model,
            "precision": self.precision,
            "tolerance_relative": self.tolerance,
            "program": self.program,
            "first_departure": asdict(first) if first else None,
            "matched": sum(1 for r in self.rows if r.departs is not None),
            "not_matched": sum(1 for r in self.rows if r.departs is None),
        }


def converted_program(model_dir: Path) -> tuple[Path, Path]:
    """The program opt converted for this model (the graph-fixed one when the fixes were applied) and its params."""
    data = manifest.read(model_dir)
    if data is None:
        raise UsageError(f"{model_dir}: no manifest; convert the model first (make convert MODELS=...)")
    model_file, params_file = data.program_files()
    fixed = model_dir / FIXED_DIR / "model.pdmodel"
    if (data.graph_fixes or {}).get("status") == "applied" and fixed.is_file():
        return fixed, params_file
    return model_file, params_file


def _compare(ref: NDArray[Any], got: NDArray[Any], tolerance: float) -> dict[str, Any]:
    a, b = ref.astype(np.float64).reshape(-1), got.astype(np.float64).reshape(-1)
    if not np.all(np.isfinite(b)):
        return {"cosine": None, "max_abs_diff": None, "relative_diff": math.inf, "departs": True}
    diff = float(np.max(np.abs(a - b)))
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(np.dot(a, b) / norm) if norm > 0 else (1.0 if diff == 0 else 0.0)
    relative = diff / max(float(np.max(np.abs(a))), MAGNITUDE_FLOOR)
    return {"cosine": cosine, "max_abs_diff": diff, "relative_diff": relative, "departs": relative > tolerance}


def _row(point: CutPoint, program: bytes, files: tuple[Path, Path], x: NDArray[Any], *, precision: str,
         tolerance: float, work: Path) -> LayerRow:  # fmt: skip
    folder = work / f"cut-{point.index}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pdmodel").write_bytes(cut_program(program, point))
    params = folder / "model.pdiparams"
    if not params.exists():
        params.symlink_to(files[1].resolve())
    base = LayerRow(point.index, point.op_type, point.tensor)
    try:
        nb = run_opt(point.tensor, ModelFiles(folder, folder / "model.pdmodel", params, "pdmodel"), "arm", precision,
                     out_stem=folder / "arm", timeout_s=600)  # fmt: skip
    except ConversionError as e:
        return LayerRow(**{**asdict(base), "not_matched": f"opt could not convert the cut: {e.detail}"})
    ref = ReferenceRunner(folder / "model.pdmodel", params).run([x]).get(point.tensor)
    if ref is None:
        return LayerRow(**{**asdict(base), "not_matched": "desktop Paddle Inference did not return the tensor"})
    got = run_lite(nb, x, precision=precision)
    shape = [int(d) for d in ref.shape]
    if got.size != ref.size:
        why = f"the ARM runtime's output has {got.size} values, the tensor {shape} has {ref.size} (renamed or fused)"
        return LayerRow(**{**asdict(base), "shape": shape, "not_matched": why})
    return LayerRow(point.index, point.op_type, point.tensor, shape, **_compare(ref, got, tolerance))


def layer_diff(
    model_dir: Path, precision: str, x: NDArray[Any], *, tolerance: float, work: Path, limit: int | None = None
) -> LayerDiff:
    """Every cut of the converted program (the first `limit`), in program order; `x` is the preprocessed input."""
    if precision not in PRECISIONS:
        raise UsageError(f"layer-diff compares {', '.join(PRECISIONS)} variants (int8 cuts are not supported yet)")
    nb = model_dir / manifest.nb_name("arm", precision)
    if not nb.is_file():
        raise UsageError(f"{nb} does not exist: convert {model_dir.name} with PRECISIONS=fp32,{precision} first")
    files = converted_program(model_dir)
    program = files[0].read_bytes()
    points = cut_points(program, str(files[0]))[:limit]
    if not points:
        raise UsageError(f"{files[0]}: no float tensor to cut at")
    shutil.rmtree(work, ignore_errors=True)
    rows = []
    for i, point in enumerate(points):
        progress.show(f"{model_dir.name} {precision} layer-diff", "cut", i + 1, len(points))
        try:
            rows.append(_row(point, program, files, x, precision=precision, tolerance=tolerance, work=work))
        except ToolkitError as e:
            rows.append(LayerRow(point.index, point.op_type, point.tensor, not_matched=str(e).splitlines()[0]))
        finally:
            progress.clear()
        log.info("%s: %s -> %s", point.op_type, point.tensor, rows[-1].relative_diff or rows[-1].not_matched)
    shutil.rmtree(work, ignore_errors=True)
    return LayerDiff(model_dir.name, precision, tolerance, str(files[0]), rows)
