"""Host parity: Paddle-Lite x86 (the converted .nb, in a child process) against desktop Paddle Inference (the
original model), on the same preprocessed images, judged with the zoo's tolerances."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.gates import image_problems
from benchmark.images import ImageSet
from benchmark.lite_host import LiteHostRunner
from benchmark.metrics import GroundTruthTally, compare_output
from converter import manifest
from converter.convert import DEFAULT_OUT, convert_zoo_model
from converter.errors import ToolkitError
from converter.fetch import default_cache_dir
from converter.preprocess import preprocess
from converter.reference import ReferenceRunner
from converter.zoo import Tolerance, Zoo

log = logging.getLogger(__name__)
PRECISION = "fp32"
TARGET = "x86"


@dataclass
class ModelParity:
    model: str
    status: str  # pass | fail | unavailable | error
    tolerance: Tolerance | None = None
    comparisons: int = 0
    failures: list[str] = field(default_factory=list)
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    min_argmax_agreement: float | None = None
    worst_image: str | None = None
    gt: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "precision": PRECISION,
            "target": TARGET,
            "status": self.status,
            "tolerance": self.tolerance.model_dump() if self.tolerance else None,
            "comparisons": self.comparisons,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "min_argmax_agreement": self.min_argmax_agreement,
            "worst_image": self.worst_image,
            "ground_truth": self.gt,
            "failures": self.failures,
            "error": self.error,
        }


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def check_model(
    zoo: Zoo,
    name: str,
    images: ImageSet,
    *,
    models_dir: Path | None,
    cache_dir: Path | None = None,
    out_root: Path = DEFAULT_OUT,
    download: bool = True,
) -> tuple[ModelParity, list[dict[str, Any]]]:
    """Convert what is missing, run both runtimes on every image, compare every output; never raises for a
    model-level problem (it is reported in the result)."""
    outcome = convert_zoo_model(
        zoo,
        name,
        models_dir=models_dir,
        cache_dir=cache_dir or default_cache_dir(),
        targets=(TARGET,),
        precisions=(PRECISION,),
        out_root=out_root,
        download=download,
    )
    if not outcome.ok or outcome.source is None or outcome.model_dir is None:
        status = "unavailable" if outcome.status == "unavailable" else "error"
        return ModelParity(name, status, error=outcome.error), []
    entry = zoo.get(name)
    tol = zoo.tolerance(entry, PRECISION)
    result = ModelParity(name, "pass", tolerance=tol)
    data = manifest.load(outcome.model_dir)
    if data is None:
        return ModelParity(name, "error", error=f"{outcome.model_dir}: manifest missing after conversion"), []
    try:
        files = outcome.source.files
        reference = ReferenceRunner(files.model_file, files.params_file)
        lite = LiteHostRunner(outcome.model_dir / manifest.nb_name(TARGET, PRECISION))
        inputs = [preprocess(item.bgr, data["preprocess"]) for item in images.items]
        ref_outs = [reference.run([x]) for x in inputs]
        cand = lite.run_batch([[x] for x in inputs])
    except ToolkitError as e:
        return ModelParity(name, "error", tolerance=tol, error=f"{name}: {e}"), []

    tallies = {"reference": GroundTruthTally.empty(), "candidate": GroundTruthTally.empty()}
    records: list[dict[str, Any]] = []
    worst = -1.0
    for item, ref, got in zip(images.items, ref_outs, cand.outputs, strict=True):
        for out_name, ref_arr in ref.items():
            c = compare_output(out_name, ref_arr, got.get(out_name))
            result.comparisons += 1
            problems = image_problems(c, tol)
            rec: dict[str, Any] = {
                "model": name,
                "image": item.name,
                "output": out_name,
                "precision": PRECISION,
                "target": TARGET,
                "source": "host",
                "reference": "paddle_inference",
                "candidate": "paddle_lite_x86",
                "max_abs_diff": _finite(c.max_abs_diff),
                "mean_abs_diff": _finite(c.mean_abs_diff),
                "argmax_agreement": c.argmax_agreement,
                "iou_vs_reference": c.iou_vs_reference,
                "passed": not problems,
                "problems": problems,
            }
            if item.mask is not None and out_name == data["output_name"]:
                rec["gt_iou_reference"] = tallies["reference"].add(ref_arr, item.mask)
                rec["gt_iou_candidate"] = tallies["candidate"].add(got[out_name], item.mask) if not c.problems else None
            records.append(rec)
            result.failures += [f"{item.name}: {p}" for p in problems]
            if c.max_abs_diff > worst or math.isnan(c.max_abs_diff):
                worst = c.max_abs_diff if not math.isnan(c.max_abs_diff) else math.inf
                result.worst_image = item.name
    diffs = [r["max_abs_diff"] for r in records]
    result.max_abs_diff = None if any(d is None for d in diffs) else max(diffs, default=None)
    result.mean_abs_diff = float(np.mean([r["mean_abs_diff"] or 0.0 for r in records])) if records else None
    result.min_argmax_agreement = min((r["argmax_agreement"] for r in records), default=None)
    result.gt = {
        runtime: {"images": len(t.fg_ious), "mean_fg_iou": t.mean_fg_iou, "miou": t.miou}
        for runtime, t in tallies.items()
    }
    if result.comparisons == 0:
        result.failures.append("zero comparisons ran: nothing was checked")
    if result.failures:
        result.status = "fail"
    return result, records
