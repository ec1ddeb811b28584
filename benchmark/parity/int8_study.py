"""The int8 study: which way of quantizing a model to full int8 keeps its accuracy. Each option (calibration
algorithm, weight scales, calibration samples, calibration folder, and a sensitivity pass that leaves one group of
convolutions in fp32 at a time) is quantized (cached), run as the fake-quant program on desktop Paddle Inference,
which is fast and what the ARM int8 kernels reproduce, and judged against desktop fp32 with the zoo's int8 gate on
the labelled images none of the options calibrated on. The options that help are then combined with the most
harmful groups left in fp32. The pick: the passing option that leaves the fewest convolutions in fp32 (each one
costs ARM work), the baseline when it passes, then the best argmax agreement; it becomes the zoo entry's `int8:`
recipe."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark import progress
from benchmark.images import ImageSet, ImageSetError, held_out
from benchmark.parity.gates import image_problems, task_problems
from benchmark.records.run_files import new_run_path, write_run
from benchmark.records.runs import Int8StudyRun
from benchmark.records.types import Int8StudyRecord
from converter.base.errors import ToolkitError, UsageError
from converter.images.compare import (
    GroundTruthTally,
    compare_output,
    mean_argmax_agreement,
    mean_mask_iou,
)
from converter.images.preprocess import preprocess
from converter.pipeline.int8_source import Int8Source, int8_source
from converter.quant.calibration import (
    AUGMENTATIONS_PER_IMAGE,
    CalibrationSet,
    default_calibration_dir,
    load_calibration,
)
from converter.quant.quantize import conv_weights, quantize
from converter.reference.desktop import ReferenceRunner, open_reference
from converter.schema.zoo import CalibAlgo, Tolerance, WeightScales, Zoo
from converter.sources.spec import ModelSources, QuantSettings

log = logging.getLogger(__name__)
ALGOS: tuple[CalibAlgo, ...] = ("hist", "mse", "KL", "avg")


@dataclass(frozen=True)
class StudyPlan:
    """The options tried: the first of each list is the baseline, every other value one option of its own."""

    algos: tuple[CalibAlgo, ...] = ALGOS
    weights: tuple[WeightScales, ...] = ("channel", "tensor")
    per_image: tuple[int, ...] = (AUGMENTATIONS_PER_IMAGE, 4 * AUGMENTATIONS_PER_IMAGE)
    calib_dirs: tuple[Path, ...] = ()  # () -> the default calibration folder
    groups: int = 8  # sensitivity pass: the convolutions in this many contiguous groups (0: no pass)
    combine: bool = True


@dataclass(frozen=True)
class StudyOption:
    label: str
    calib: CalibrationSet
    settings: QuantSettings
    group: int | None = None


@dataclass
class Int8Study:
    model: str
    path: Path
    fp32_miou: float | None
    images: list[str]  # the held-out labelled images every option is judged on
    left_out: list[str]  # labelled images some option calibrated on
    groups: list[list[str]]
    convolutions: int
    rows: list[Int8StudyRecord] = field(default_factory=list)

    @property
    def chosen(self) -> Int8StudyRecord | None:
        passing = [r for r in self.rows if r.passed and len(r.skip) < self.convolutions]  # some int8 is left
        baseline = self.rows[0] if self.rows else None  # when the defaults pass, no recipe is needed
        return min(passing, key=lambda r: (len(r.skip), r is not baseline, -_score(r))) if passing else None

    def recipe_yaml(self) -> str:
        """The zoo entry's `int8:` block for the chosen option (empty when none passes)."""
        c = self.chosen
        if c is None:
            return ""
        skip = "[" + ", ".join(c.skip) + "]"
        reason = (
            f"int8-study {self.path.name}: {c.option}; held-out mIoU {100 * (c.miou or 0):.2f} "
            f"({-(c.miou_drop_points or 0):+.2f} points vs fp32), argmax {100 * (c.mean_argmax_agreement or 0):.2f} %"
        )
        return (
            f"    int8:\n      algo: {c.algo}\n      weights: {c.weights}\n      samples_per_image: {c.per_image}\n"
            f"      skip: {skip}\n      reason: >-\n        {reason}\n"
        )


class _Judge:
    """The fp32 reference on the held-out images, and an option's fake-quant program judged against it."""

    def __init__(self, src: Int8Source, images: ImageSet, tol: Tolerance) -> None:
        self.images, self.tol = images, tol
        files = src.source.files
        reference = open_reference(files.model_file, files.params_file)
        self.output = reference.output_names[0]
        self.inputs = [preprocess(item.bgr, src.pre) for item in images.items]
        self.refs = [reference.run([x])[self.output] for x in self.inputs]
        tally = GroundTruthTally.empty()
        for item, ref in zip(images.items, self.refs, strict=True):
            if item.mask is not None:  # every image here is labelled
                tally.add(ref, item.mask)
        self.fp32_miou = tally.miou

    def judge(self, row: Int8StudyRecord, model_file: Path, params_file: Path) -> None:
        runner = ReferenceRunner(model_file, params_file)
        tally, problems, comparisons = GroundTruthTally.empty(), [], []
        for item, x, ref in zip(self.images.items, self.inputs, self.refs, strict=True):
            got: NDArray[Any] | None = runner.run([x]).get(self.output)
            c = compare_output(self.output, ref, got)
            comparisons.append(c)
            problems += [f"{item.name}: {p}" for p in image_problems(c, self.tol)]
            if got is not None and item.mask is not None:
                tally.add(got, item.mask)
        row.images = len(comparisons)
        row.miou = tally.miou
        row.miou_drop_points = None if tally.miou is None else 100 * ((self.fp32_miou or 0.0) - tally.miou)
        row.mean_argmax_agreement = mean_argmax_agreement(comparisons)
        row.min_argmax_agreement = min(c.argmax_agreement for c in comparisons)
        row.mean_mask_iou = mean_mask_iou(comparisons)
        problems += task_problems(
            self.tol,
            mean_mask_iou=row.mean_mask_iou,
            miou=tally.miou,
            fp32_desktop_miou=self.fp32_miou,
            mean_argmax_agreement=row.mean_argmax_agreement,
        )
        row.problems, row.passed = problems, not problems


def _groups(convs: list[str], n: int) -> list[list[str]]:
    return [list(g) for g in np.array_split(np.array(convs, dtype=object), min(n, len(convs))) if len(g)] if n else []


def _single_factor_options(plan: StudyPlan, calibs: dict[tuple[Path, int], CalibrationSet]) -> list[StudyOption]:
    folder, per_image = plan.calib_dirs[0], plan.per_image[0]
    calib = calibs[folder, per_image]
    base = QuantSettings(algo=plan.algos[0], weights=plan.weights[0])
    options = [StudyOption(f"baseline ({base.algo}, per-{base.weights} weights)", calib, base)]
    options += [StudyOption(f"algo {a}", calib, replace(base, algo=a)) for a in plan.algos[1:]]
    options += [StudyOption(f"per-{w} weights", calib, replace(base, weights=w)) for w in plan.weights[1:]]
    options += [StudyOption(f"{k} samples/photo", calibs[folder, k], base) for k in plan.per_image[1:]]
    options += [StudyOption(f"calibration {d}", calibs[d, per_image], base) for d in plan.calib_dirs[1:]]
    return options


def _combined_options(
    study: Int8Study, options: list[StudyOption], groups: list[list[str]], convs: int
) -> list[StudyOption]:
    """The best value of each factor together, alone and with the one and two most harmful groups left in fp32 (the
    groups whose absence helped most), never more than half of the convolutions. Gains are in argmax agreement with
    fp32, the steadier figure (mIoU against labels on a few images moves with single pixels at mask borders)."""
    base, base_score = options[0], _score(study.rows[0])
    gains = {
        o.label: _score(r) - base_score
        for o, r in zip(options, study.rows, strict=False)
        if r.status == "ok" and _score(r) > base_score
    }

    def best(differs: Callable[[StudyOption], bool]) -> StudyOption | None:
        return max((o for o in options if o.label in gains and differs(o)), key=lambda o: gains[o.label], default=None)

    algo = best(lambda o: o.group is None and o.settings.algo != base.settings.algo)
    weights = best(lambda o: o.settings.weights != base.settings.weights)
    calib = best(lambda o: o.calib != base.calib)
    settings = replace(base.settings, algo=(algo or base).settings.algo, weights=(weights or base).settings.weights)
    folder = (calib or base).calib
    harmful = sorted((o for o in options if o.group is not None and o.label in gains), key=lambda o: -gains[o.label])
    out = []
    if sum(x is not None for x in (algo, weights, calib)) > 1:
        out.append(StudyOption("combined: the factors that helped", folder, settings))
    for k in (1, 2):
        skip = tuple(w for o in harmful[:k] for w in groups[o.group or 0])
        if len(harmful) < k or len(skip) > convs // 2:
            break
        names = "+".join(str(o.group) for o in harmful[:k])
        out.append(StudyOption(f"combined, group(s) {names} in fp32", folder, replace(settings, skip=skip)))
    return out


def _score(row: Int8StudyRecord) -> float:
    return row.mean_argmax_agreement or 0.0


def _run_option(src: Int8Source, option: StudyOption, judge: _Judge, cache: Path) -> Int8StudyRecord:
    row = Int8StudyRecord(
        model=src.spec.name,
        option=option.label,
        status="ok",
        algo=option.settings.algo,
        weights=option.settings.weights,
        per_image=option.calib.per_image,
        calibration=str(option.calib.folder),
        samples=option.calib.samples,
        skip=list(option.settings.skip),
        skipped_group=option.group,
    )
    t0 = time.monotonic()
    try:
        q = quantize(
            src.spec.name, src.program, calib=option.calib, pre=src.pre, settings=option.settings, cache_dir=cache
        )
        row.quantize_s = round(time.monotonic() - t0, 1)
        row.quant_key = q.cache_key
        judge.judge(row, q.source.files.model_file, q.source.files.params_file)
    except ToolkitError as e:
        row.status, row.error, row.problems = "failed", str(e), [str(e)]
    return row


def study_int8(
    zoo: Zoo, name: str, dataset: ImageSet, *, sources: ModelSources, plan: StudyPlan, reports: Path
) -> Int8Study:
    """Quantize `name` every way of `plan`, judge each on the held-out labelled images; the run file is rewritten
    after every option. Raises ToolkitError when nothing can be judged (no model, no held-out labelled image)."""
    src = int8_source(zoo, name, sources)
    plan = replace(plan, calib_dirs=plan.calib_dirs or (sources.int8.calib_dir or default_calibration_dir(),))
    if len(set(plan.per_image)) != len(plan.per_image) or len(set(plan.algos)) != len(plan.algos):
        raise UsageError("the study's algorithms and samples per photo must not repeat")
    calibs = {(d, k): load_calibration(d, k) for d in plan.calib_dirs for k in plan.per_image}
    images, left_out = held_out(dataset, [img for c in calibs.values() for img in c.images])
    labelled = ImageSet(images.source, tuple(i for i in images.items if i.mask is not None), images.warnings)
    if not labelled.items:
        raise ImageSetError(f"{dataset.source}: every labelled image is a calibration image; nothing is held out")
    judge = _Judge(src, labelled, zoo.tolerance(zoo.get(name), "int8"))
    convs = conv_weights(name, src.program)
    groups = _groups(convs, plan.groups)
    study = Int8Study(name, new_run_path("int8-study", reports), judge.fp32_miou, [i.name for i in labelled.items],
                      left_out, groups, len(convs))  # fmt: skip
    options = _single_factor_options(plan, calibs)
    base = options[0]
    options += [
        StudyOption(f"group {g} in fp32 ({len(ws)} convs)", base.calib, replace(base.settings, skip=tuple(ws)), g)
        for g, ws in enumerate(groups)
    ]
    todo = list(options)
    while todo:
        option = todo.pop(0)
        progress.show(f"{name} int8 study", "option", len(study.rows) + 1, len(study.rows) + 1 + len(todo))
        study.rows.append(_run_option(src, option, judge, sources.cache))
        progress.clear()
        log.info("%s: %s: %s", name, option.label, _brief(study.rows[-1]))
        _write(study)
        if not todo and plan.combine and len(study.rows) == len(options):
            todo = _combined_options(study, options, groups, len(convs))
    return study


def _brief(row: Int8StudyRecord) -> str:
    if row.status != "ok":
        return f"failed: {row.error}"
    gate = "pass" if row.passed else "fail"
    return f"mIoU {100 * (row.miou or 0):.2f}, argmax {100 * (row.mean_argmax_agreement or 0):.2f} %: {gate}"


def _write(study: Int8Study) -> None:
    run = Int8StudyRun(
        model=study.model,
        fp32_desktop_miou=study.fp32_miou,
        held_out_images=study.images,
        calibration_images_left_out=study.left_out,
        convolutions=study.convolutions,
        groups=study.groups,
        chosen=study.chosen.option if study.chosen else None,
        records=study.rows,
    )
    write_run(study.path, run)
