"""Device parity of an ncnn variant: ncnn_run on the device, one fresh process per image (`--warmup 0 --repeats 1`,
so every judged output is the first inference of a process, as a phone app's first frame is), raw float32 in and
out (no print rounding), against desktop Paddle Inference fp32 with the precision's gates."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark.device.ncnn_model import model_files, push_files, ready_for_device
from benchmark.device.ncnn_runner import run_args, run_once
from benchmark.device.runner import RunnerError
from benchmark.device.session import DeviceContext, ModelJob
from benchmark.images import ImageSet
from benchmark.parity.device import DeviceModel, DeviceParityResult, judge_on_device
from converter.base.errors import ToolkitError
from converter.schema.zoo import Tolerance


def ncnn_runner_on_device(
    ctx: DeviceContext, job: ModelJob, *, timeout_s: float, allow_unknown_version: bool = False
) -> Callable[[NDArray[Any]], tuple[NDArray[Any], tuple[int, ...]]]:
    """The job's ncnn files pushed; a function running one input in a fresh ncnn_run process (the first inference of
    a process, raw float32 in and out) that returns the output values and their shape (1, C, H, W)."""
    files = ready_for_device(ctx, job, allow_unknown=allow_unknown_version)
    remote = push_files(ctx, job, files)
    remote_in, remote_out = ctx.work.file("ncnn-in.f32"), ctx.work.file("ncnn-out.f32")
    args = run_args(remote, remote_in, remote_out, job.input_shape, fp16=job.precision == "fp16")

    def run(x: NDArray[Any]) -> tuple[NDArray[Any], tuple[int, ...]]:
        ctx.device.push(np.ascontiguousarray(x, dtype="<f4").tobytes(), remote_in)
        ctx.device.shell(f"rm -f {shlex.quote(remote_out)}", timeout_s=30)  # never judge a previous input's output
        report = run_once(ctx.device, ctx.work, args, warmup=0, repeats=1, pin_mask=None, timeout_s=timeout_s)
        try:
            data = ctx.device.pull(remote_out)
        except ToolkitError:
            raise RunnerError(f"{ctx.device.serial}: ncnn_run wrote no output file {remote_out}") from None
        return np.frombuffer(data, dtype="<f4").copy(), (1, *report.output_shape)

    return run


def check_ncnn_on_device(
    ctx: DeviceContext,
    job: ModelJob,
    images: ImageSet,
    tol: Tolerance,
    *,
    artifacts: Path,
    timeout_s: float = 300,
    allow_unknown_version: bool = False,
) -> DeviceParityResult:
    run_one = ncnn_runner_on_device(ctx, job, timeout_s=timeout_s, allow_unknown_version=allow_unknown_version)
    files = model_files(job)

    def run(index: int, x: NDArray[Any]) -> tuple[NDArray[Any], tuple[int, ...] | None]:
        return run_one(x)

    model = DeviceModel(run, "device_ncnn_run", files.sha256, exact_floats=True)
    return judge_on_device(ctx, job, images, tol, model, artifacts=artifacts)
