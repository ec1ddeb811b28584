"""On-device parity: the converted .nb on the device (benchmark_bin --input_data_path / --output_data_path)
against desktop Paddle Inference on the original model, on the same host-preprocessed images.

benchmark_bin writes outputs with 6 significant digits and reads every output buffer as float. So the tolerance is
widened by the printing's rounding bound (reported), int32 argmax outputs are decoded from their bit patterns, and
for int64 outputs only the first half of the elements can be recovered (said in every record)."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmark import progress
from benchmark.device.runner import RoundResult, RunnerError, explain_failure, run_round
from benchmark.device.session import (
    DeviceContext,
    ModelJob,
    check_first_round,
    check_runner_version,
    nb_for_device,
    target_for,
)
from benchmark.images import ImageItem, ImageSet, held_out
from benchmark.parity.gates import image_problems, task_problems
from benchmark.records.parts import GroundTruth, GroundTruthFigures, ParitySummary, Verdict
from benchmark.records.types import ParityRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.images.compare import (
    GroundTruthTally,
    OutputComparison,
    compare_output,
    comparison_fields,
    foreground,
    mean_argmax_agreement,
    mean_mask_iou,
)
from converter.images.preprocess import preprocess
from converter.nb.inspect import inspect_nb
from converter.reference.desktop import open_reference
from converter.schema.manifest_types import InputPreprocess
from converter.schema.zoo import Tolerance
from converter.sources.model_files import sha256_file

log = logging.getLogger(__name__)
PRINT_REL_ERROR = 5e-6  # %g with 6 significant digits: |x - round(x)| <= 5e-6 * |x|
ARTIFACT_IMAGES = 3


@dataclass(frozen=True)
class Decoded:
    values: NDArray[Any]
    note: str | None
    compared_elements: int


def decode_output(floats: NDArray[Any], shape: tuple[int, ...], dtype: str) -> Decoded:
    """Turn benchmark_bin's float dump back into the model's output."""
    n = int(np.prod(shape))
    if floats.size != n:
        raise RunnerError(f"the runner wrote {floats.size} values, the output {list(shape)} has {n}")
    f32 = floats.astype(np.float32)
    if dtype == "int32":
        return Decoded(f32.view(np.int32).reshape(shape), "int32 labels decoded from their float bit patterns", n)
    if dtype == "int64":
        half = f32.view(np.int32).reshape(-1, 2)  # little-endian (low, high) words of the first n/2 elements
        labels = (half[:, 0].astype(np.int64) & 0xFFFFFFFF) | (half[:, 1].astype(np.int64) << 32)
        note = (
            f"int64 output: benchmark_bin reads it as float, so only the first {labels.size} of {n} elements "
            "are recoverable; compared those"
        )
        return Decoded(labels, note, labels.size)
    return Decoded(f32.reshape(shape), None, n)


def _input_text(x: NDArray[Any]) -> bytes:
    return " ".join(f"{v:.9g}" for v in x.reshape(-1)).encode()


def _save_artifacts(
    folder: Path, index: int, item: ImageItem, *, pre: InputPreprocess, ref: NDArray[Any], dev: NDArray[Any]
) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    thumb = cv2.resize(item.bgr, (pre.width, pre.height), interpolation=cv2.INTER_AREA)
    paths = {
        "input": folder / f"{index}-input.png",
        "desktop": folder / f"{index}-desktop.png",
        "device": folder / f"{index}-device.png",
    }
    cv2.imwrite(str(paths["input"]), thumb)
    cv2.imwrite(str(paths["desktop"]), foreground(ref).astype(np.uint8) * 255)
    cv2.imwrite(str(paths["device"]), foreground(dev).astype(np.uint8) * 255)
    return {k: str(v) for k, v in paths.items()}


@dataclass
class DeviceParityResult:
    records: list[ParityRecord]
    summary: ParitySummary


def run_input(
    ctx: DeviceContext, job: ModelJob, x: NDArray[Any], *, remote_nb: str, target: str, timeout_s: float
) -> tuple[NDArray[Any], RoundResult]:
    """One input through benchmark_bin on the device: its output file as floats, and the round (its report says the
    output shape and the runner's version)."""
    remote_in, remote_out = ctx.work.file("input.txt"), ctx.work.file("output.txt")
    ctx.device.push(_input_text(x), remote_in)
    ctx.device.shell(f"rm -f {shlex.quote(remote_out)}", timeout_s=30)
    args = [
        f"--optimized_model_file={remote_nb}",
        f"--input_shape={','.join(map(str, job.input_shape))}",
        f"--input_data_path={remote_in}",
        f"--output_data_path={remote_out}",
        "--warmup=0",
        "--repeats=1",
        "--threads=1",
        "--power_mode=0",
        f"--backend={target}",
    ]
    try:
        run = run_round(ctx.device, ctx.work, args, pin_mask=None, timeout_s=timeout_s)
    except RunnerError as e:
        raise explain_failure(e, job.precision, ctx.device.serial) from None
    try:
        text = ctx.device.pull(remote_out).decode()
    except ToolkitError:
        raise RunnerError(
            f"{ctx.device.serial}: the runner wrote no output file {remote_out} (--output_data_path needs Paddle-Lite "
            "2.13+)"
        ) from None
    return np.array(text.split(), dtype=np.float64), run


def _record(
    ctx: DeviceContext,
    job: ModelJob,
    item: ImageItem,
    c: OutputComparison,
    *,
    tol: Tolerance,
    bound: float,
    decoded: Decoded,
    target: str,
) -> ParityRecord:
    """One image's parity record, judged with the precision's gates."""
    problems = image_problems(c, tol, bound)
    return ParityRecord(
        model=job.name,
        image=item.name,
        output=c.name,
        precision=job.precision,
        target=target,  # type: ignore[arg-type]  # "arm" | "x86", validated
        source="device",
        device=ctx.info.summary(),
        emulated=ctx.info.emulated,
        reference="paddle_inference_fp32",
        candidate="device_benchmark_bin",
        **comparison_fields(c),
        print_rounding_bound=bound,
        compared_elements=decoded.compared_elements,
        note=decoded.note,
        passed=not problems,
        problems=problems,
    )


@dataclass(frozen=True)
class DeviceModel:
    """A variant ready on the device: `run` takes one preprocessed input and returns the output's values (as the
    runner wrote them) and its shape when the runner said it; how the runner's output is read and named."""

    run: Callable[[int, NDArray[Any]], tuple[NDArray[Any], tuple[int, ...] | None]]
    candidate: str  # device_benchmark_bin | device_ncnn_run
    sha256: str
    exact_floats: bool  # raw float32 (ncnn_run), not benchmark_bin's 6-digit text
    calibration_file: str | None = None  # the .nb whose calibration images are never judged on


def check_on_device(
    ctx: DeviceContext, job: ModelJob, images: ImageSet, tol: Tolerance, *, artifacts: Path, timeout_s: float = 300
) -> DeviceParityResult:
    """benchmark_bin on the device with the .nb for the device's target, image by image."""
    target, nb_path = nb_for_device(ctx, job)
    nb_version = inspect_nb(nb_path).opt_version
    check_runner_version(ctx, nb_version)
    remote_nb = ctx.work.file(f"{job.name}-{target}-{job.precision}.nb")
    ctx.device.push(nb_path.read_bytes(), remote_nb)

    def run(index: int, x: NDArray[Any]) -> tuple[NDArray[Any], tuple[int, ...] | None]:
        floats, rnd = run_input(ctx, job, x, remote_nb=remote_nb, target=target, timeout_s=timeout_s)
        if index == 0:
            check_first_round(ctx, nb_version, rnd)
        return floats, rnd.report.outputs[0].shape if rnd.report.outputs else None

    model = DeviceModel(run, "device_benchmark_bin", sha256_file(nb_path), False, nb_path.name)
    return judge_on_device(ctx, job, images, tol, model, artifacts=artifacts)


def judge_on_device(
    ctx: DeviceContext, job: ModelJob, images: ImageSet, tol: Tolerance, model: DeviceModel, *, artifacts: Path
) -> DeviceParityResult:
    """Each image through the variant on the device against desktop Paddle Inference fp32 on the same preprocessed
    input, judged with the precision's gates; ground truth tallied where the images are labelled."""
    data = manifest.read(job.model_dir)
    if data is None:
        raise RunnerError(f"{job.model_dir}: no manifest; convert {job.name} first")
    reference = open_reference(*data.reference_files())
    out_name, out_dtype = data.output_name, data.output_dtype
    target = target_for(ctx.info)
    calibration = manifest.calibration_images(data, model.calibration_file) if model.calibration_file else []
    images, left_out = held_out(images, calibration)  # never judge on them
    tallies = {"reference": GroundTruthTally.empty(), "candidate": GroundTruthTally.empty()}
    records: list[ParityRecord] = []
    label = f"{ctx.device.serial}: {job.name} {job.label} parity"
    for index, item in enumerate(images.items):
        progress.show(label, "image", index + 1, len(images.items))
        x = preprocess(item.bgr, data.preprocess)
        ref = reference.run([x])[out_name]
        try:
            floats, shape = model.run(index, x)
        finally:
            progress.clear()
        if model.exact_floats:
            values = floats.astype(ref.dtype) if ref.dtype.kind in "iu" else floats
            decoded = Decoded(values.reshape(ref.shape), None, ref.size) if values.size == ref.size else None
            if decoded is None:
                raise RunnerError(f"{model.candidate} wrote {values.size} values, the output {list(ref.shape)} has "
                                  f"{ref.size}")  # fmt: skip
        else:
            decoded = decode_output(floats, shape or tuple(ref.shape), out_dtype)
        full = decoded.compared_elements == ref.size
        ref_cmp = ref if full else ref.reshape(-1)[: decoded.compared_elements]
        dev_cmp = decoded.values.reshape(ref_cmp.shape)
        printed = out_dtype.startswith("float") and not model.exact_floats
        bound = PRINT_REL_ERROR * float(np.max(np.abs(ref))) if printed else 0.0
        c = compare_output(out_name, ref_cmp, dev_cmp)
        rec = _record(ctx, job, item, c, tol=tol, bound=bound, decoded=decoded, target=target)
        rec.set(output_dtype=out_dtype, reference_runtime=reference.runtime, candidate=model.candidate,
                runtime=job.runtime)  # fmt: skip
        if item.mask is not None and full:
            rec.gt_iou_reference = tallies["reference"].add(ref, item.mask)
            rec.gt_iou_candidate = tallies["candidate"].add(dev_cmp, item.mask)
        if index < ARTIFACT_IMAGES and full:
            folder = artifacts / job.name if job.runtime == "paddle-lite" else artifacts / job.name / job.runtime
            rec.artifacts = _save_artifacts(folder, index, item, pre=data.preprocess, ref=ref, dev=dev_cmp)
        records.append(rec)
    summary = _summary(ctx, job, tol, records, tallies)
    summary.set(calibration_images_left_out=left_out, nb_sha256=model.sha256, run_id=ctx.run_id,  # this file, run
                runtime=job.runtime)  # fmt: skip
    if not records:
        summary.not_run = (
            f"no image to judge: all {len(left_out)} were calibration images" if left_out else "no image to judge"
        )
    return DeviceParityResult(records, summary)


def _diff(rec: ParityRecord) -> float:
    return float("inf") if rec.max_abs_diff is None else float(rec.max_abs_diff)


def _summary(
    ctx: DeviceContext,
    job: ModelJob,
    tol: Tolerance,
    records: list[ParityRecord],
    tallies: dict[str, GroundTruthTally],
) -> ParitySummary:
    mean_argmax = mean_argmax_agreement(records)
    task = task_problems(
        tol,
        mean_mask_iou=mean_mask_iou(records),
        miou=tallies["candidate"].miou,
        fp32_desktop_miou=tallies["reference"].miou,
        mean_argmax_agreement=mean_argmax,
    )
    verdict: Verdict = ("pass" if all(r.passed for r in records) and not task else "fail") if records else "not_run"
    return ParitySummary(
        model=job.name,
        precision=job.precision,
        verdict=verdict,
        task_problems=task,
        device=ctx.info.serial,
        emulated=ctx.info.emulated,
        qemu_cpu=ctx.info.qemu_cpu,
        comparisons=len(records),
        images=len(records),
        passed=verdict == "pass",
        max_abs_diff=None
        if any(r.max_abs_diff is None for r in records)
        else max((r.max_abs_diff for r in records if r.max_abs_diff is not None), default=None),  # None: not finite
        worst_image=max(records, key=_diff).image if records else None,
        problems=[f"{r.image}: {p}" for r in records for p in r.problems],
        mean_argmax_agreement=mean_argmax,
        mean_mask_iou=mean_mask_iou(records),
        ground_truth=GroundTruth(
            **{
                k: GroundTruthFigures(images=len(t.fg_ious), mean_fg_iou=t.mean_fg_iou, miou=t.miou)
                for k, t in tallies.items()
            }
        ),
    )
