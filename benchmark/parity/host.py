"""Host parity: Paddle-Lite x86 (the converted .nb, in a child process) against desktop Paddle Inference (the
original model), on the same preprocessed images, judged with the zoo's tolerances."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from benchmark.host.lite import LiteHostRunner
from benchmark.images import ImageSet
from benchmark.parity.gates import image_problems, task_problems
from benchmark.records.parts import GroundTruth, GroundTruthFigures, ParitySummary
from benchmark.records.run_files import new_run_path, write_run
from benchmark.records.runs import ParityRun
from benchmark.records.types import ParityRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError, UsageError
from converter.images.compare import (
    GroundTruthTally,
    compare_output,
    comparison_fields,
    mean_argmax_agreement,
    mean_mask_iou,
)
from converter.images.preprocess import preprocess
from converter.pipeline.convert import DEFAULT_SOURCES, convert_zoo_model
from converter.reference.desktop import open_reference
from converter.schema.manifest_types import Manifest
from converter.schema.zoo import Tolerance, Zoo
from converter.sources.spec import ModelSources

log = logging.getLogger(__name__)
PRECISION = "fp32"
TARGET: Literal["x86"] = "x86"


@dataclass
class ModelParity:
    model: str
    status: str  # pass | fail | unavailable | error | not_run
    precision: str = PRECISION
    tolerance: Tolerance | None = None
    comparisons: int = 0
    failures: list[str] = field(default_factory=list)
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    min_argmax_agreement: float | None = None
    mean_argmax_agreement: float | None = None
    mean_mask_iou: float | None = None
    worst_image: str | None = None
    weights: str = "trained"
    gt: GroundTruth = field(default_factory=GroundTruth)
    error: str | None = None

    def summary(self) -> ParitySummary:
        """As the run file's summary (the one type every parity verdict has)."""
        verdict = {"pass": "pass", "not_run": "not_run"}.get(self.status, "fail")
        return ParitySummary(
            model=self.model,
            precision=self.precision,
            verdict=verdict,  # type: ignore[arg-type]  # one of the three
            status=self.status,  # type: ignore[arg-type]  # pass | fail | unavailable | error | not_run
            passed=self.status == "pass",
            weights=self.weights,
            target=TARGET,
            tolerance=self.tolerance,
            comparisons=self.comparisons,
            max_abs_diff=self.max_abs_diff,
            mean_abs_diff=self.mean_abs_diff,
            min_argmax_agreement=self.min_argmax_agreement,
            mean_argmax_agreement=self.mean_argmax_agreement,
            mean_mask_iou=self.mean_mask_iou,
            worst_image=self.worst_image,
            ground_truth=self.gt,
            problems=self.failures,
            not_run=self.error if self.status == "not_run" else None,
            error=self.error if self.status != "not_run" else None,
        )


NOT_RUN_HERE = {
    "fp16": "fp16 kernels exist only for ARM (ARMv8.2 + an fp16 runtime): not run here; parity-check it on a device",
    "int8": (
        "full int8 is built for ARM only (x86 Paddle-Lite's int8 kernels are wrong for it): not run here; judge it "
        "on an ARM emulated phone (make bench-emulated DEVICE_PROFILE=sd855-arm DATASET=...) or a phone"
    ),
}


def check_model(
    zoo: Zoo,
    name: str,
    images: ImageSet,
    *,
    precisions: tuple[str, ...] | None = None,
    sources: ModelSources = DEFAULT_SOURCES,
) -> list[tuple[ModelParity, list[ParityRecord]]]:
    """Convert what is missing, run desktop fp32 Paddle Inference once and each precision's x86 .nb on every image,
    compare every output and judge each precision with its gates; one result per precision. Never raises for a
    model-level problem (it is reported in the result)."""
    # Linear: convert, run the fp32 reference once, judge each precision with its gates, then the task level.
    entry = zoo.get(name)
    wanted = precisions or zoo.precisions(entry)
    if all(p in NOT_RUN_HERE for p in wanted):  # nothing here can judge them: say so, convert nothing
        return [(ModelParity(name, "not_run", precision=p, tolerance=zoo.tolerance(entry, p), error=NOT_RUN_HERE[p]),
                 []) for p in wanted]  # fmt: skip
    outcome = convert_zoo_model(zoo, name, sources=sources, targets=(TARGET,), precisions=wanted)
    if not outcome.ok or outcome.source is None or outcome.model_dir is None:
        status = "unavailable" if outcome.status == "unavailable" else "error"
        return [(ModelParity(name, status, precision=p, error=outcome.error), []) for p in wanted]
    data = manifest.read(outcome.model_dir)
    if data is None:
        missing = f"{outcome.model_dir}: manifest missing after conversion"
        return [(ModelParity(name, "error", precision=p, error=missing), []) for p in wanted]
    return judge_model(
        name, outcome.model_dir, data, images, wanted=wanted, tolerance=lambda p: zoo.tolerance(entry, p)
    )


def judge_model(
    name: str,
    model_dir: Path,
    data: Manifest,
    images: ImageSet,
    *,
    wanted: tuple[str, ...],
    tolerance: Callable[[str], Tolerance],
) -> list[tuple[ModelParity, list[ParityRecord]]]:
    """The x86 .nb of each precision of a converted model against the model's own framework on the desktop
    (Paddle 3 Inference for a PIR export, else Paddle 2.6), image by image."""
    try:
        reference = open_reference(*data.reference_files())
        inputs = [preprocess(item.bgr, data.preprocess) for item in images.items]
        ref_outs = [reference.run([x]) for x in inputs]
        runtime = reference.runtime
        reference.close()
    except ToolkitError as e:
        return [(ModelParity(name, "error", precision=p, error=f"{name}: {e}"), []) for p in wanted]
    results: list[tuple[ModelParity, list[ParityRecord]]] = []
    weights = data.weights
    # a random-weight stand-in is judged on runtime parity only: its accuracy against ground truth means nothing
    judged = (
        images
        if weights != "random"
        else ImageSet(images.source, tuple(replace(i, mask=None) for i in images.items), images.warnings)
    )
    for precision in wanted:
        tol = tolerance(precision)
        if precision in NOT_RUN_HERE:
            results.append(
                (ModelParity(name, "not_run", precision=precision, tolerance=tol, error=NOT_RUN_HERE[precision]), [])
            )
            continue
        try:
            cand = LiteHostRunner(model_dir / manifest.nb_name(TARGET, precision)).run_batch([[x] for x in inputs])
        except ToolkitError as e:
            results.append((ModelParity(name, "error", precision=precision, tolerance=tol, error=f"{name}: {e}"), []))
            continue
        results.append(
            _judge(name, precision, tol, judged, outputs=(ref_outs, cand.outputs), output_name=data.output_name)
        )
        results[-1][0].weights = weights
        for rec in results[-1][1]:
            rec.weights = weights
            rec.reference_runtime = runtime
    for r, _ in results:
        if r.tolerance is not None and r.status in ("pass", "fail"):
            task = task_problems(  # against desktop fp32 on the same images
                r.tolerance,
                mean_mask_iou=r.mean_mask_iou,
                miou=r.gt.candidate.miou,
                fp32_desktop_miou=r.gt.reference.miou,
                mean_argmax_agreement=r.mean_argmax_agreement,
            )
            r.failures += [f"task level: {p}" for p in task]
            r.status = "fail" if r.failures else "pass"
    return results


def check_converted(
    zoo: Zoo, model_dir: Path, images: ImageSet, *, precisions: tuple[str, ...] | None = None
) -> list[tuple[ModelParity, list[ParityRecord]]]:
    """Host parity of a model converted with `python -m converter model` (UsageError when there is none)."""
    data = manifest.read(model_dir)
    if data is None:
        raise UsageError(
            f"{model_dir}: no converted model here; run python -m converter model DIR --out {model_dir.parent}"
        )
    built = sorted({f.precision for f in data.files.values() if f.target == TARGET})
    wanted = precisions or tuple(built)
    missing = [p for p in wanted if p not in built and p not in NOT_RUN_HERE]
    if missing:
        have = ", ".join(built) or "none"
        raise UsageError(f"{model_dir.name}: no x86 {', '.join(missing)} variant in {model_dir} (built: {have})")
    return judge_model(
        data.model, model_dir, data, images, wanted=tuple(wanted), tolerance=lambda p: zoo.tolerance(None, p)
    )


def _judge(
    name: str,
    precision: str,
    tol: Tolerance,
    images: ImageSet,
    *,
    outputs: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    output_name: str,
) -> tuple[ModelParity, list[ParityRecord]]:
    result = ModelParity(name, "pass", precision=precision, tolerance=tol)
    tallies = {"reference": GroundTruthTally.empty(), "candidate": GroundTruthTally.empty()}
    records: list[ParityRecord] = []
    worst = -1.0
    ref_outs, cand_outs = outputs
    for item, ref, got in zip(images.items, ref_outs, cand_outs, strict=True):
        for out_name, ref_arr in ref.items():
            c = compare_output(out_name, ref_arr, got.get(out_name))
            result.comparisons += 1
            problems = image_problems(c, tol)
            rec = ParityRecord(
                model=name,
                image=item.name,
                output=out_name,
                precision=precision,
                target=TARGET,
                source="host",
                reference="paddle_inference_fp32",
                candidate=f"paddle_lite_x86_{precision}",
                **comparison_fields(c),
                passed=not problems,
                problems=problems,
            )
            if item.mask is not None and out_name == output_name:
                rec.gt_iou_reference = tallies["reference"].add(ref_arr, item.mask)
                rec.gt_iou_candidate = tallies["candidate"].add(got[out_name], item.mask) if not c.problems else None
            records.append(rec)
            result.failures += [f"{item.name}: {p}" for p in problems]
            if c.max_abs_diff > worst or math.isnan(c.max_abs_diff):
                worst = c.max_abs_diff if not math.isnan(c.max_abs_diff) else math.inf
                result.worst_image = item.name
    diffs = [r.max_abs_diff for r in records]
    result.max_abs_diff = (
        None if any(d is None for d in diffs) else max((d for d in diffs if d is not None), default=None)
    )
    result.mean_abs_diff = float(np.mean([r.mean_abs_diff or 0.0 for r in records])) if records else None
    result.min_argmax_agreement = min((r.argmax_agreement for r in records), default=None)
    result.mean_argmax_agreement = mean_argmax_agreement(records)
    result.mean_mask_iou = mean_mask_iou(records)
    result.gt = GroundTruth(
        **{
            runtime: GroundTruthFigures(images=len(t.fg_ious), mean_fg_iou=t.mean_fg_iou, miou=t.miou)
            for runtime, t in tallies.items()
        }
    )
    if result.comparisons == 0:
        result.failures.append("zero comparisons ran: nothing was checked")
    if result.failures:
        result.status = "fail"
    return result, records


@dataclass
class ParityResult:
    """Host parity of several zoo models: one result per model variant, the per-image records, the run file."""

    path: Path
    results: list[ModelParity]
    records: list[ParityRecord]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def judged(self) -> int:
        return len(self.results) - self.count("not_run")

    @property
    def passed(self) -> bool:
        """Something was judged, and all of it passed ('not run here' is never a pass)."""
        return self.judged > 0 and self.count("pass") == self.judged


def check_parity(
    *,
    zoo: Zoo,
    images: ImageSet,
    reports: Path,
    names: list[str] | None = None,
    precisions: tuple[str, ...] | None = None,
    sources: ModelSources = DEFAULT_SOURCES,
    converted: list[str] | None = None,
) -> ParityResult:
    """check_model for each model (default: the whole zoo), into one parity run file rewritten after each model;
    `converted`: models of the user's own, converted with `python -m converter model` into sources.out_root, instead
    of zoo models (their precisions: the x86 ones built; tolerances: the zoo's defaults)."""
    wanted = converted or zoo.select(names)
    log.info("parity on %d image(s) from %s", len(images.items), images.source)
    run = ParityResult(new_run_path("parity", reports), [], [])
    for name in wanted:
        log.info("%s: checking", name)
        if converted:
            pairs = check_converted(zoo, sources.out_root / name, images, precisions=precisions)
        else:
            pairs = check_model(zoo, name, images, precisions=precisions, sources=sources)
        for result, recs in pairs:
            run.results.append(result)
            run.records.extend(recs)
        run_file = ParityRun(
            source="host",
            images=images.source,
            image_count=len(images.items),
            image_warnings=list(images.warnings),
            models=[r.summary() for r in run.results],
            records=run.records,
        )
        write_run(run.path, run_file)
        log.info("%s: %s", name, ", ".join(f"{r.precision} {r.status}" for r, _ in pairs))
    return run
