"""An ncnn variant on a device: the model's ncnn files (from its manifest), checked for this device and runner,
pushed into the session's work dir once per job, and the identity records carry (path, pnnx version, size, one
sha256 over both files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.device.ncnn_runner import check_version
from benchmark.device.runner import RunnerError
from benchmark.device.session import DeviceContext, ModelJob, VariantNotForDevice, target_for
from converter.artifacts import manifest

NCNN_PRECISIONS = ("fp32", "fp16")  # ncnn_run's --fp16 0|1; the toolkit converts no int8 ncnn model


@dataclass(frozen=True)
class NcnnFiles:
    param: Path
    bin: Path
    min_runtime: str | None
    pnnx_version: str
    size_bytes: int
    sha256: str  # of the .param bytes followed by the .bin bytes: one identity for the pair


def model_files(job: ModelJob) -> NcnnFiles:
    """The job's converted ncnn files; a model converted without ncnn is an error naming the fix."""
    data = manifest.read(job.model_dir)
    info = data.ncnn if data else None
    if info is None or info.status != "converted" or not info.param or not info.bin:
        why = f": {info.error_kind}: {info.error}" if info is not None and info.error else ""
        raise RunnerError(
            f"{job.name} has no ncnn files in {job.model_dir}{why}; convert it with --runtimes paddle-lite,ncnn "
            "(RUNTIMES=paddle-lite,ncnn)"
        )
    param, weights = job.model_dir / info.param, job.model_dir / info.bin
    for path in (param, weights):
        if not path.is_file():
            raise RunnerError(f"{path} does not exist: convert {job.name} again with --runtimes paddle-lite,ncnn")
    return NcnnFiles(
        param=param,
        bin=weights,
        min_runtime=info.min_runtime,
        pnnx_version=f"pnnx {info.tools.get('pnnx', '?')}",
        size_bytes=param.stat().st_size + weights.stat().st_size,
        sha256=manifest.pair_sha256(param, weights),
    )


def ready_for_device(ctx: DeviceContext, job: ModelJob, *, allow_unknown: bool) -> NcnnFiles:
    """The files of an ncnn job on this device: ARM only, an ncnn runner of a version that loads them, and fp16 only
    where the CPU has FP16 arithmetic (ncnn would quietly run fp32 kernels and the record would lie)."""
    if job.precision not in NCNN_PRECISIONS:
        raise VariantNotForDevice(f"{job.name} ncnn {job.precision}: the toolkit runs ncnn in fp32 and fp16 only")
    if target_for(ctx.info) != "arm":
        raise VariantNotForDevice(f"{job.name} ncnn on {ctx.info.serial}: ncnn variants run on ARM devices only")
    if ctx.ncnn is None:
        raise RunnerError(f"{ctx.info.serial}: no ncnn runner in this session")
    files = model_files(job)
    check_version(files.min_runtime, ctx.ncnn, ctx.info.serial, allow_unknown=allow_unknown)
    if job.precision == "fp16" and ctx.ncnn.fp16_arithmetic is False:
        raise VariantNotForDevice(
            f"{job.name} ncnn fp16 on {ctx.info.serial}: this CPU has no ARMv8.2 FP16 arithmetic (ncnn_run --version "
            "says asimdhp 0), so ncnn would run its fp32 kernels; ship fp32 to such phones"
        )
    return files


def push_files(ctx: DeviceContext, job: ModelJob, files: NcnnFiles) -> str:
    """Push the pair as <model>-ncnn.param/.bin; returns the device path ncnn_run takes (the .param)."""
    remote = ctx.work.file(f"{job.name}-ncnn.param")
    ctx.device.push(files.param.read_bytes(), remote)
    ctx.device.push(files.bin.read_bytes(), remote[: -len(".param")] + ".bin")
    return remote
