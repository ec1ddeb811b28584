"""An ncnn variant's latency on a device, with the same evidence as a Paddle-Lite variant's: R rounds of ncnn_run (W
warmup + N timed runs each, one thread, the same pin), statistics across rounds, and on an ARM emulated phone the
guest instructions per inference ((count of 2 runs - count of 1) with `insncount`, as for benchmark_bin)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from benchmark import progress
from benchmark.device import instructions
from benchmark.device.ncnn_model import push_files, ready_for_device
from benchmark.device.ncnn_runner import NCNN_RUNNER_NAME, run_args, run_once
from benchmark.device.runner import RunnerError
from benchmark.device.session import DeviceContext, ModelJob
from benchmark.device.thermal import temps_json, wait_until_cool
from benchmark.latency.stats import latency_stats, stability_warnings
from benchmark.records.parts import InstructionCountFacts
from benchmark.records.types import LatencyRecord, NbFile, RunnerInfo

if TYPE_CHECKING:
    from benchmark.latency.run import BenchSettings

INPUT_SEED = 0  # the timing input: uniform in [-1, 1], the range of a normalized image


def timing_input(shape: list[int]) -> bytes:
    rng = np.random.default_rng(INPUT_SEED)
    return rng.uniform(-1.0, 1.0, size=shape).astype("<f4").tobytes()


def bench_ncnn(ctx: DeviceContext, job: ModelJob, s: BenchSettings, rec: LatencyRecord, pin_mask: str | None) -> None:
    """Fill `rec` (status and figures); raises what bench_model classifies (RunnerError, VariantNotForDevice,
    NcnnVersionMismatch)."""
    rec.runtime = "ncnn"
    if ctx.ncnn is not None:
        rec.runner = RunnerInfo(
            path=ctx.ncnn.label,
            version=ctx.ncnn.version,
            sources={"--version": ctx.ncnn.version} if ctx.ncnn.version else {},
            unknown_version_allowed=s.allow_unknown_runner_version and ctx.ncnn.version is None,
        )
    files = ready_for_device(ctx, job, allow_unknown=s.allow_unknown_runner_version)
    assert ctx.ncnn is not None
    rec.target = "arm"
    rec.nb = NbFile(path=str(files.param), opt_version=files.pnnx_version, size_bytes=files.size_bytes,
                    sha256=files.sha256)  # fmt: skip
    rec.tool_versions = {**(rec.tool_versions or {}), "pnnx": files.pnnx_version.split()[-1]}
    wait = wait_until_cool(ctx.device, ctx.baseline_c, s.thermal)
    rec.thermal_wait = wait.facts()
    rec.temps_before = temps_json(wait.zones)
    model = push_files(ctx, job, files)
    input_file = ctx.work.file("ncnn-input.f32")
    ctx.device.push(timing_input(job.input_shape), input_file)
    args = run_args(model, input_file, "/dev/null", job.input_shape, fp16=job.precision == "fp16")
    avgs: list[float] = []
    inits: list[float] = []
    started: list[float] = []
    first: float | None = None
    t0 = time.monotonic()
    while len(avgs) < s.rounds or (s.duration_s is not None and time.monotonic() - t0 < s.duration_s):
        progress.show(f"{ctx.device.serial}: {job.name} {job.label}", "round", len(avgs) + 1, s.rounds)
        try:
            report = run_once(ctx.device, ctx.work, args, warmup=s.warmup, repeats=s.repeats, pin_mask=pin_mask,
                              timeout_s=s.round_timeout_s)  # fmt: skip
        finally:
            progress.clear()
        if report.version and ctx.ncnn.version and report.version != ctx.ncnn.version:
            raise RunnerError(f"{ctx.device.serial}: ncnn_run said {ctx.ncnn.version}, then ran as {report.version}")
        first = report.first_ms if first is None else first
        avgs.append(report.avg_ms)
        inits.append(report.init_ms)
        started.append(round(time.monotonic() - t0, 3))
    stats = latency_stats(avgs)
    rec.set(**stats.to_json())
    rec.set(rounds=len(avgs), rounds_ms=avgs, round_started_s=started, first_ms=first,
            init_ms=sorted(inits)[len(inits) // 2], sustained_s=s.duration_s,
            thread_binding=f"taskset {pin_mask} ({s.pin} cores)" if pin_mask else "nothing: ncnn_run does not bind "
            "(one thread, the OS schedules it)",
            memory_note="ncnn_run reports no memory")  # fmt: skip
    rec.warnings += stability_warnings(stats, s.cv_limit, s.throttle_limit)
    if ctx.info.qemu_cpu is not None and s.count_instructions:
        if not ctx.counts_instructions:
            raise instructions.NoInstructionCounter(ctx.info.serial)
        count = instructions.count_instructions(ctx.device, ctx.work, args, timeout_s=s.round_timeout_s,
                                                runner_name=NCNN_RUNNER_NAME)  # fmt: skip
        rec.instructions_per_inference = count.per_inference
        rec.instruction_count = InstructionCountFacts(**count.to_json())
        rec.warnings.append("no cost profile or latency estimate: the cost model is fitted to Paddle-Lite's kernels")
    rec.temps_after = temps_json(ctx.device.thermal())
    rec.status = "ok"
