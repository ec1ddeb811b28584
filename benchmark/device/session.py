"""A device session: the device's facts, a per-run work dir with the runner (and the libraries beside it) pushed,
the runner's Paddle-Lite version read once (`--version` and the files pushed), and which .nb each job runs there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmark.device import instructions, runner_version
from benchmark.device.adb import DeviceError
from benchmark.device.bundle import RunnerBundle, runner_bundle
from benchmark.device.info import DeviceInfo, hottest_cpu_c
from benchmark.device.ncnn_runner import NcnnRunner, push_runner
from benchmark.device.protocol import Device
from benchmark.device.runner import RoundResult, RunnerError, WorkDir, probe_version, push_bundle
from benchmark.device.runner_version import RunnerVersions, file_versions
from benchmark.records.parts import Runtime
from converter.artifacts import manifest
from converter.base.errors import ToolkitError

ARM_ABIS = ("arm64-v8a", "armeabi-v7a", "armeabi")
X86_ABIS = ("x86_64", "x86")
NO_ANDROID_X86 = (
    "Paddle-Lite has no Android x86 benchmark_bin (build_android.sh builds armv8 and armv7 only), so x86 Android "
    "devices (emulators) cannot be benchmarked; use an ARM phone, or the toolkit's emulated devices"
)


@dataclass(frozen=True)
class ModelJob:
    name: str
    model_dir: Path
    input_shape: list[int]
    seed_ms: float | None
    precision: str = "fp32"
    runtime: Runtime = "paddle-lite"  # or ncnn: the model's ncnn/model.ncnn.param + .bin, run by ncnn_run

    @property
    def label(self) -> str:
        """What logs and tables call the variant: `fp16`, or `ncnn fp16`."""
        return self.precision if self.runtime == "paddle-lite" else f"{self.runtime} {self.precision}"


class VariantNotForDevice(ToolkitError):
    """This precision has no build for the device's target (fp16 exists for ARM only): skipped, not failed."""


def target_for(info: DeviceInfo) -> str:
    abis = info.abis
    if any(a in ARM_ABIS for a in abis):
        return "arm"
    if any(a in X86_ABIS for a in abis):
        if info.emulated and info.qemu_cpu is None:
            return "x86"  # the x86 emulated device: its runner is Paddle-Lite x86 on this host
        raise DeviceError(f"{info.serial} ({', '.join(abis)}): {NO_ANDROID_X86}")
    raise DeviceError(f"{info.serial}: unknown ABI list {abis}; expected arm64-v8a or armeabi-v7a")


@dataclass(frozen=True)
class DeviceContext:
    device: Device
    info: DeviceInfo
    work: WorkDir
    bundle: RunnerBundle
    baseline_c: float | None
    versions: RunnerVersions = RunnerVersions()  # what the runner said of its version before any model ran
    run_id: str | None = None  # the run whose records this session's results belong to
    counts_instructions: bool = False  # an ARM emulated phone with `insncount`
    profiles: bool = False  # ... and with `insnprofile` (the ARM cost profile)
    ncnn: NcnnRunner | None = None  # ncnn_run pushed beside benchmark_bin (a session with ncnn variants)

    @property
    def runner_label(self) -> str:
        return self.bundle.label


def nb_for_device(ctx: DeviceContext, job: ModelJob) -> tuple[str, Path]:
    """The .nb whose kernels match the device ABI (the mistake users make most often)."""
    target = target_for(ctx.info)
    nb_path = job.model_dir / manifest.nb_name(target, job.precision)
    if not nb_path.is_file():
        data = manifest.read(job.model_dir)
        why = data.not_built.get(nb_path.name) if data else None
        if why:
            raise VariantNotForDevice(f"{job.name} {job.precision} on {ctx.info.serial} ({target}): {why}")
        raise RunnerError(f"{nb_path} does not exist: convert {job.name} for {target} first")
    return target, nb_path


def check_runner_version(ctx: DeviceContext, nb_version: str, versions: RunnerVersions | None = None) -> None:
    """A runner of another Paddle-Lite version than the .nb's opt, or of no known version, is an error."""
    runner_version.check(nb_version, versions or ctx.versions, ctx.runner_label, ctx.info.serial)


def check_first_round(ctx: DeviceContext, nb_version: str, first: RoundResult) -> RunnerVersions:
    """Once a model ran: what the round's report and the runtime's log said of the version, checked as well."""
    versions = ctx.versions.after_round(first.report.version, first.runtime.library_version)
    check_runner_version(ctx, nb_version, versions)
    return versions


@contextmanager
def device_session(
    device: Device,
    *,
    runner: Path | None,
    run_id: str,
    keep: bool,
    baseline_c: float | None = None,
    work_base: str = "/data/local/tmp",
    info: DeviceInfo | None = None,
    allow_unknown_version: bool = False,
    work_name: str | None = None,
    ncnn_runner: Path | None = None,
) -> Iterator[DeviceContext]:
    """Device info, a per-run work dir with the runner (and `ncnn_runner`, when given) pushed into it, removed at the
    end unless `keep`."""
    info = info or device.info()
    target_for(info)  # an x86 Android device fails here, before anything is pushed
    baseline = baseline_c if baseline_c is not None else hottest_cpu_c(info.zones)
    bundle = runner_bundle(runner, info)
    work = WorkDir(device, work_name or run_id, work_base)
    work.create()
    try:
        push_bundle(device, work, bundle)
        versions = RunnerVersions(
            probe=probe_version(device, work), files=file_versions(bundle), allow_unknown=allow_unknown_version
        )
        counts = info.qemu_cpu is not None and instructions.has_counter(device)
        if info.qemu_cpu is not None and not counts:
            raise instructions.NoInstructionCounter(info.serial)
        profiles = counts and instructions.has_counter(device, instructions.PROFILER)
        ncnn = push_runner(device, work, ncnn_runner, info) if ncnn_runner and target_for(info) == "arm" else None
        yield DeviceContext(device, info, work, bundle, baseline, versions, run_id, counts, profiles, ncnn)
    finally:
        if not keep:
            try:
                work.remove()
            except DeviceError:
                pass
