"""`video-check`: temporal stability of each model x variant on frame sequences, with and without the shared temporal
smoothing (model_spec.json's `temporal`, converter/images/temporal.py).

Sequences come from a labelled set (each photo under a known motion, benchmark/parity/video.py and sequences.py;
with `clip_height_px`, rendered at that height and measured as a clip is) or from a user's clip (OpenCV; no known
motion, so flicker there is measured after compensating the motion estimated by optical flow). Every
frame goes through the desktop reference (Paddle Inference fp32) and through each variant's real kernels: the ARM
.nb on an ARM emulated phone (QEMU), one frame per runner call."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmark.device.adb import AdbDevice
from benchmark.device.ncnn_model import NCNN_PRECISIONS
from benchmark.device.ncnn_runner import NCNN_RUNNER_NAME
from benchmark.device.session import DeviceContext, ModelJob, device_session, nb_for_device
from benchmark.emulated import arm_runtime, ncnn_runtime
from benchmark.emulated.lab import Lab
from benchmark.emulated.phone import load_phone
from benchmark.images import ImageSet
from benchmark.parity.device import decode_output, run_input
from benchmark.parity.dis_fusion import DisFusion
from benchmark.parity.ncnn_device import ncnn_runner_on_device
from benchmark.parity.sequences import make_sequence
from benchmark.parity.smoothing_arm import count_on_device
from benchmark.parity.video import (
    CameraMotion,
    FrameSequence,
    as_clip,
    estimate_flows,
)
from benchmark.parity.video_record import Masks, Subject, video_record
from benchmark.records.rows import VideoRecord
from converter.artifacts import manifest
from converter.artifacts.app_spec import AppSpec, app_spec
from converter.base.errors import ToolkitError, UsageError
from converter.base.progress import Progress
from converter.images.compare import mask_at_size, prediction_at_size
from converter.images.preprocess import preprocess
from converter.images.temporal import Temporal
from converter.reference.desktop import open_reference
from converter.schema.manifest_types import Manifest

log = logging.getLogger("benchmark")
Predict = Callable[[NDArray[Any]], NDArray[Any]]  # preprocessed input -> the model's output


class VideoInputError(UsageError):
    """A clip that cannot be used: unreadable, truncated, no frames, or a single frame."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"video {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class VideoSettings:
    phone: str = "sd855-arm"  # the ARM emulated phone the variants run on
    sequences: int = 2  # photos of the labelled set turned into sequences (of every kind)
    motion: CameraMotion = CameraMotion()
    kinds: tuple[str, ...] = ("camera", "sudden")  # benchmark/parity/sequences.py KINDS
    host_only: bool = False  # the desktop reference alone: no ARM phone, no ARM variant, no ARM cost count
    clip_height_px: int | None = None  # the labelled sequences at this height, measured as a clip (estimated motion)


def read_clip(path: Path, max_frames: int) -> FrameSequence:
    if not path.is_file():
        raise VideoInputError(path, "no such file")
    # FFmpeg would print its own lines about a broken file ("moov atom not found"); the error below names it
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoInputError(path, "OpenCV cannot open it (not a video, or a codec this build lacks)")
        frames: list[NDArray[Any]] = []
        while len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            frames.append(frame)
    finally:
        cap.release()
    if not frames:
        raise VideoInputError(path, "no frame could be decoded (empty or truncated)")
    if len(frames) < 2:
        raise VideoInputError(path, "a single frame: stability needs at least 2")
    return FrameSequence(path.name, frames, [None] * len(frames), flows=estimate_flows(frames), kind="clip")


def labelled_sequences(dataset: ImageSet, settings: VideoSettings) -> list[FrameSequence]:
    labelled = [i for i in dataset.items if i.mask is not None][: settings.sequences]
    seqs = [
        make_sequence(
            kind,
            Path(item.name).stem if kind == "camera" else f"{Path(item.name).stem} ({kind})",
            item.bgr,
            item.mask,
            replace(settings.motion, seed=settings.motion.seed + k),
        )
        for kind in settings.kinds
        for k, item in enumerate(labelled)
        if item.mask is not None
    ]
    if settings.clip_height_px is None:
        return seqs
    return [as_clip(q, settings.clip_height_px) for q in seqs]


def _probability(output: NDArray[Any], kind: str) -> NDArray[Any] | None:
    """The person probability at model resolution, as the spec's output kind says to read it (None for a label
    map: nothing to smooth)."""
    if kind == "argmax":
        return None
    x = output[0].astype(np.float64)
    if kind == "logits":
        e = np.exp(x - x.max(axis=0))
        x = e / e.sum(axis=0)
    return np.asarray(x[1], np.float32)


METHODS = ("gated_ema", "motion_fusion", "dis_fusion")


def _steppers(spec: AppSpec) -> dict[str, Temporal]:
    ema = spec.temporal.model_copy(update={"smoothing": "gated_ema"}).stepper()
    fusion = spec.temporal.model_copy(update={"smoothing": "motion_fusion"}).stepper()
    return {"gated_ema": ema, "motion_fusion": fusion, "dis_fusion": DisFusion()}


def masks(seq: FrameSequence, predict: Predict, data: Manifest) -> Masks:
    """Each frame's person mask, raw and through every temporal method (the spec's parameters for the demo's two)."""
    spec = app_spec(data)
    steppers = _steppers(spec)
    pre = data.preprocess
    result = Masks([], {m: [] for m in METHODS}, {m: [] for m in METHODS})
    for frame in seq.frames:
        out = predict(preprocess(frame, pre))
        h, w = frame.shape[:2]
        result.raw.append(prediction_at_size(out, (h, w)))
        prob = _probability(out, spec.output.kind)
        if prob is None:  # a label map: nothing to smooth
            for method in METHODS:
                result.smoothed[method].append(result.raw[-1])
            continue
        rgb = cv2.resize(
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (pre.width, pre.height), interpolation=cv2.INTER_LINEAR
        )
        for method, stepper in steppers.items():
            t0 = time.perf_counter()
            s = stepper.step(prob, rgb)
            result.ms[method].append((time.perf_counter() - t0) * 1000.0)
            result.smoothed[method].append(mask_at_size(s, (h, w)))
    return result


def _judge(
    who: Subject, seqs: list[FrameSequence], predict: Predict, data: Manifest, artifacts: Path | None
) -> Iterator[VideoRecord]:
    smoothing = app_spec(data).temporal.smoothing
    for seq in seqs:
        yield video_record(who, seq, masks(seq, predict, data), artifacts, smoothing)


def check_model(
    job_dir: Path,
    name: str,
    precisions: list[str],
    seqs: list[FrameSequence],
    settings: VideoSettings,
    *,
    artifacts: Path | None = None,
    runtimes: tuple[str, ...] = ("paddle-lite",),
) -> list[VideoRecord]:
    """The reference and every ARM variant of one converted model on every sequence (the ncnn variants too, when
    `runtimes` has ncnn); with `artifacts`, each record's frame that changed most is saved there for the report."""
    data = manifest.read(job_dir)
    if data is None:
        raise UsageError(f"{job_dir}: no manifest; convert {name} first (make convert)")
    ref = open_reference(*data.reference_files())
    records = list(
        _judge(Subject(name, "reference", ref.runtime), seqs, lambda x: ref.run([x])[data.output_name], data, artifacts)
    )
    if settings.host_only:
        return records
    shape = list(data.input_shape)
    frames = sum(len(q.frames) for q in seqs)
    with Lab.create() as lab:
        handle = lab.add_device(load_phone(settings.phone))
        assert lab.server is not None
        device = AdbDevice(lab.server, handle.serial)
        ncnn = ncnn_runtime.runtime_dir() / NCNN_RUNNER_NAME if "ncnn" in runtimes else None
        runner = arm_runtime.default_runner()
        with device_session(device, runner=runner, run_id="video", keep=False, ncnn_runner=ncnn) as ctx:
            insns = _smoothing_insns(ctx, data)
            jobs = [ModelJob(name, job_dir, shape, None, p) for p in precisions]
            if ncnn is not None:
                jobs += [ModelJob(name, job_dir, shape, None, p, "ncnn") for p in precisions if p in NCNN_PRECISIONS]
            for job in jobs:
                try:
                    runtime = "Paddle-Lite" if job.runtime == "paddle-lite" else job.runtime
                    who = Subject(name, job.label, f"{runtime} ARM ({settings.phone}, QEMU)")
                    judged = _judge(who, seqs, _device_predict(ctx, job, data, frames), data, artifacts)
                    records += [r.model_copy(update={"smoothing_arm_insns_per_frame": insns}) for r in judged]
                except ToolkitError as e:
                    log.warning("warning: %s %s: not checked on %s: %s", name, job.label, settings.phone, e)
    return records


def _smoothing_insns(ctx: DeviceContext, data: Manifest) -> int | None:
    """The smoothing step's instructions per frame at the model's input size on this ARM phone; a failure to count
    is a warning, not a failed check (the masks are the check)."""
    pre = data.preprocess
    try:
        return count_on_device(ctx, pre.height, pre.width, app_spec(data).temporal).insns_per_frame
    except ToolkitError as e:
        log.warning("warning: the smoothing step was not counted on %s: %s", ctx.device.serial, e)
        return None


def _device_predict(ctx: DeviceContext, job: ModelJob, data: Manifest, frames: int) -> Predict:
    shown = Progress(f"{job.name} {job.label} on {ctx.device.serial} (QEMU)", unit="frames")
    done = [0]

    def step() -> None:
        done[0] += 1
        shown.update(done[0], frames)
        if done[0] == frames:
            shown.close()

    if job.runtime == "ncnn":
        run_ncnn = ncnn_runner_on_device(ctx, job, timeout_s=300)

        def predict_ncnn(x: NDArray[Any]) -> NDArray[Any]:
            values, shape = run_ncnn(x)
            step()
            return values.reshape(shape)

        return predict_ncnn
    target, nb_path = nb_for_device(ctx, job)
    remote = ctx.work.file(f"{job.name}-{target}-{job.precision}.nb")
    ctx.device.push(nb_path.read_bytes(), remote)

    def predict(x: NDArray[Any]) -> NDArray[Any]:
        floats, run = run_input(ctx, job, x, remote_nb=remote, target=target, timeout_s=300)
        step()
        shape = run.report.outputs[0].shape if run.report.outputs else None
        decoded = decode_output(floats, shape or (1, 2, data.preprocess.height, data.preprocess.width),
                                data.output_dtype)  # fmt: skip
        return np.asarray(decoded.values).reshape(shape or decoded.values.shape)

    return predict
