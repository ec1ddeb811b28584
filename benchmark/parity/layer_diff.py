"""Which layer breaks a variant: the program opt converted is cut at every float tensor an op writes (converter.
program_cut), each cut is converted with opt to the variant on ARM and run by the real ARM runtime under QEMU
(`lite_run`, binary float32 output), and compared with desktop Paddle Inference fp32 on the same cut and input:
cosine similarity, max abs diff, and that diff relative to the tensor's largest magnitude. The first op whose
relative diff exceeds the tolerance is where the variant departs.

What can be matched: a cut is its own model, so opt fuses within it but never across it (a convolution cut before
its batch norm runs as a convolution alone); a cut opt cannot convert, or whose output is not the cut tensor, is
listed as not matched with the reason, never guessed.

Full int8: the variant is cut from the quantized program opt converted (kept in int8_program/ beside the .nb), at the
same tensors as the fp32 program. Where quantization put a dequantize op after a tensor (a convolution's output in
int8 scale), the cut is made at the dequantized tensor, which holds the real values the next op reads; the
fake-quantize ops' own outputs are int8-scale and are never compared."""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark import progress
from benchmark.emulated.arm_runtime import run_lite
from benchmark.records.rows import LayerDiffRecord
from benchmark.records.runs import LayerDiffRun
from converter.artifacts import manifest
from converter.base.errors import ToolkitError, UsageError
from converter.nb.inspect import inspect_nb
from converter.opt.run import ConversionError, run_opt
from converter.pipeline.graph_fix_check import FIXED_DIR
from converter.program.cut import CutPoint, cut_points, cut_program, dequantized_aliases, writers
from converter.quant.quantize import PROGRAM_DIR
from converter.reference.desktop import ReferenceRunner
from converter.sources.model_files import ModelFiles, sha256_file

log = logging.getLogger(__name__)
PRECISIONS = ("fp16", "int8")
# a tensor whose fp32 values are all below this is zero for the comparison: fp16 flushes a dead branch's 1e-25 to
# exactly 0, which is no departure (measured: portrait V2-Lite's first squeeze-excitation reduce conv)
MAGNITUDE_FLOOR = 1e-6


@dataclass
class LayerDiff:
    model: str
    precision: str
    tolerance: float
    program: str
    rows: list[LayerDiffRecord]

    @property
    def first_departure(self) -> LayerDiffRecord | None:
        return next((r for r in self.rows if r.departs), None)

    @property
    def non_finite(self) -> list[LayerDiffRecord]:
        """Rows whose variant tensor holds inf or NaN: each one fails the variant."""
        return [r for r in self.rows if r.non_finite]

    @property
    def worst(self) -> LayerDiffRecord | None:
        """The matched row furthest from fp32 (non-finite first)."""
        matched = [r for r in self.rows if r.relative_diff is not None]
        return max(matched, key=lambda r: r.relative_diff or 0.0, default=None)

    def run(self) -> LayerDiffRun:
        """As its run file."""
        return LayerDiffRun(
            model=self.model,
            precision=self.precision,
            tolerance_relative=self.tolerance,
            program=self.program,
            first_departure=self.first_departure,
            worst=self.worst,
            matched=sum(1 for r in self.rows if r.departs is not None),
            not_matched=sum(1 for r in self.rows if r.departs is None),
            non_finite_rows=len(self.non_finite),
            passed=None if all(r.departs is None for r in self.rows) else not self.non_finite,  # nothing compared
            records=self.rows,
        )


def converted_program(model_dir: Path) -> tuple[Path, Path]:
    """The program opt converted for this model (the graph-fixed one when the fixes were applied) and its params."""
    data = manifest.read(model_dir)
    if data is None:
        raise UsageError(f"{model_dir}: no manifest; convert the model first (make convert MODELS=...)")
    model_file, params_file = data.program_files()
    fixed = model_dir / FIXED_DIR / "model.pdmodel"
    if data.graph_fixes is not None and data.graph_fixes.status == "applied" and fixed.is_file():
        return fixed, params_file
    return model_file, params_file


def _compare(ref: NDArray[Any], got: NDArray[Any], tolerance: float) -> dict[str, Any]:
    a, b = ref.astype(np.float64).reshape(-1), got.astype(np.float64).reshape(-1)
    bad = int(np.count_nonzero(~np.isfinite(b)))
    if bad:  # where desktop fp32 is finite, an inf or NaN is a broken variant, not a small departure
        return {"cosine": None, "max_abs_diff": None, "relative_diff": math.inf, "departs": True, "non_finite": bad}
    diff = float(np.max(np.abs(a - b)))
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(np.dot(a, b) / norm) if norm > 0 else (1.0 if diff == 0 else 0.0)
    relative = diff / max(float(np.max(np.abs(a))), MAGNITUDE_FLOOR)
    return {"cosine": cosine, "max_abs_diff": diff, "relative_diff": relative, "departs": relative > tolerance,
            "non_finite": 0}  # fmt: skip


@dataclass(frozen=True)
class Program:
    model: bytes
    params: Path


def _folder(work: Path, name: str, program: Program, point: CutPoint) -> Path:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pdmodel").write_bytes(cut_program(program.model, point))
    params = folder / "model.pdiparams"
    if not params.exists():
        params.symlink_to(program.params.resolve())
    return folder


def _row(point: CutPoint, ref: Program, cand: Program, cand_point: CutPoint, x: NDArray[Any], *, precision: str,
         tolerance: float, work: Path) -> LayerDiffRecord:  # fmt: skip
    base = LayerDiffRecord(index=point.index, op_type=point.op_type, tensor=point.tensor)
    ref_dir = _folder(work, f"cut-{point.index}", ref, point)
    cand_dir = ref_dir if cand is ref else _folder(work, f"cut-{point.index}-{precision}", cand, cand_point)
    try:
        nb = run_opt(point.tensor, ModelFiles(cand_dir, cand_dir / "model.pdmodel", cand_dir / "model.pdiparams",
                     "pdmodel"), "arm", precision, out_stem=cand_dir / "arm", timeout_s=600)  # fmt: skip
    except ConversionError as e:
        return base.model_copy(update={"not_matched": f"opt could not convert the cut: {e.detail}"})
    want = ReferenceRunner(ref_dir / "model.pdmodel", ref_dir / "model.pdiparams").run([x]).get(point.tensor)
    if want is None:
        return base.model_copy(update={"not_matched": "desktop Paddle Inference did not return the tensor"})
    got = run_lite(nb, x, precision=precision)
    shape = [int(d) for d in want.shape]
    if got.size != want.size:
        why = f"the ARM runtime's output has {got.size} values, the tensor {shape} has {want.size} (renamed or fused)"
        return base.model_copy(update={"shape": shape, "not_matched": why})
    int8 = inspect_nb(nb).int8_kernels if precision == "int8" else None
    return LayerDiffRecord(
        index=point.index,
        op_type=point.op_type,
        tensor=point.tensor,
        shape=shape,
        **_compare(want, got, tolerance),
        int8_kernels=int8,
    )


def quantized_program(model_dir: Path) -> Program:
    """The quantized program the int8 .nb was converted from, checked against the manifest's record of it."""
    data = manifest.read(model_dir)
    entry = data.files.get(manifest.nb_name("arm", "int8")) if data else None
    q = entry.quantization if entry else None
    model, params = model_dir / PROGRAM_DIR / "model.pdmodel", model_dir / PROGRAM_DIR / "model.pdiparams"
    # a missing .nb is what makes a conversion redo a variant (converter.artifacts.manifest.stale_files)
    name, out = model_dir.name, model_dir.parent
    fix = (
        f"reconvert it: delete {model_dir / manifest.nb_name('arm', 'int8')}, then make convert MODELS={name} "
        f"OUT={out} PRECISIONS=fp32,int8 CALIB=<photos> (a zoo model) or python -m converter model DIR --name {name} "
        f"--out {out} --precision fp32,int8 --calib <photos> (your own)"
    )
    if q is None or not q.program_sha256 or not model.is_file() or not params.is_file():
        raise UsageError(f"{model_dir}: the quantized program of its int8 variant was not kept; {fix}")
    if sha256_file(model) != q.program_sha256:
        raise UsageError(f"{model}: not the program {model_dir.name}'s arm-int8.nb was converted from; {fix}")
    return Program(model.read_bytes(), params)


def _candidate_points(points: list[CutPoint], cand: Program, where: str) -> dict[int, CutPoint | str]:
    """For each fp32 cut, where the quantized program holds the same values (or why it does not)."""
    aliases, written = dequantized_aliases(cand.model, where), writers(cand.model, where)
    found: dict[int, CutPoint | str] = {}
    for p in points:
        tensor = aliases.get(p.tensor, p.tensor)
        op = written.get(tensor)
        found[p.index] = CutPoint(op[0], op[1], tensor) if op else "the quantized program has no such tensor"
    return found


def layer_diff(
    model_dir: Path, precision: str, x: NDArray[Any], *, tolerance: float, work: Path, limit: int | None = None
) -> LayerDiff:
    """Every cut of the converted program (the first `limit`), in program order; `x` is the preprocessed input."""
    if precision not in PRECISIONS:
        raise UsageError(f"layer-diff compares {', '.join(PRECISIONS)} variants, not {precision}")
    nb = model_dir / manifest.nb_name("arm", precision)
    if not nb.is_file():
        raise UsageError(f"{nb} does not exist: convert {model_dir.name} with PRECISIONS=fp32,{precision} first")
    files = converted_program(model_dir)
    ref = Program(files[0].read_bytes(), files[1])
    cand = quantized_program(model_dir) if precision == "int8" else ref
    points = cut_points(ref.model, str(files[0]))[:limit]
    if not points:
        raise UsageError(f"{files[0]}: no float tensor to cut at")
    cand_points: dict[int, CutPoint | str] = (
        {p.index: p for p in points} if cand is ref else _candidate_points(points, cand, str(model_dir / PROGRAM_DIR))
    )
    shutil.rmtree(work, ignore_errors=True)
    rows = []
    for i, point in enumerate(points):
        progress.show(f"{model_dir.name} {precision} layer-diff", "cut", i + 1, len(points))
        at = cand_points[point.index]
        try:
            if isinstance(at, str):
                rows.append(LayerDiffRecord(index=point.index, op_type=point.op_type, tensor=point.tensor,
                                            not_matched=at))  # fmt: skip
            else:
                rows.append(_row(point, ref, cand, at, x, precision=precision, tolerance=tolerance, work=work))
        except ToolkitError as e:
            why = str(e).splitlines()[0]
            rows.append(LayerDiffRecord(index=point.index, op_type=point.op_type, tensor=point.tensor, not_matched=why))
        finally:
            progress.clear()
        log.info("%s: %s -> %s", point.op_type, point.tensor, rows[-1].relative_diff or rows[-1].not_matched)
    shutil.rmtree(work, ignore_errors=True)
    return LayerDiff(model_dir.name, precision, tolerance, str(files[0]), rows)
