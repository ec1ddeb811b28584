"""Single-thread, big-core latency of converted models on a device: R rounds of benchmark_bin (each W warmup +
N repeats), own statistics across rounds, thermal control, one record per (device, model, precision)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from benchmark import progress
from benchmark.device import runner_version
from benchmark.device.adb import DeviceError, DeviceGone
from benchmark.device.protocol import Device
from benchmark.device.runner import ROUND_TIMEOUT_S, CannotRunVariant, RunnerError, explain_failure, run_round
from benchmark.device.runner_output import RuntimeLog
from benchmark.device.runner_version import RunnerVersions, VersionMismatch
from benchmark.device.session import (
    DeviceContext,
    ModelJob,
    VariantNotForDevice,
    check_first_round,
    check_runner_version,
    device_session,
    nb_for_device,
)
from benchmark.device.thermal import ThermalPolicy, temps_json, wait_until_cool
from benchmark.latency.binding import pin_mask, thread_binding, timing_source
from benchmark.latency.ncnn_bench import bench_ncnn
from benchmark.latency.stats import CV_LIMIT, THROTTLE_LIMIT, latency_stats, stability_warnings
from benchmark.profile.estimate import estimate_latency
from benchmark.profile.on_device import count_instructions, memory_traffic
from benchmark.records.run_files import RunFile
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord, NbFile, RunnerInfo
from converter.artifacts import manifest
from converter.artifacts.manifest import toolkit_version
from converter.base.errors import ToolkitError
from converter.nb.inspect import inspect_nb
from converter.opt.run import opt_version
from converter.sources.model_files import sha256_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchSettings:
    warmup: int = 10
    repeats: int = 50
    rounds: int = 10
    duration_s: float | None = None  # sustained mode: keep running rounds this long
    threads: int = 1
    power_mode: int = 0  # LITE_POWER_HIGH: bind the big cluster
    pin: str = "none"  # none | big | prime: taskset with power_mode 3 (with 0-2 the runtime replaces the mask)
    round_timeout_s: float = ROUND_TIMEOUT_S
    thermal: ThermalPolicy = ThermalPolicy()
    cooldown_s: float = 0.0
    cv_limit: float = CV_LIMIT
    throttle_limit: float = THROTTLE_LIMIT
    keep: bool = False
    memory_profile: bool = True  # peak memory from one extra run with --enable_memory_profile (never a timed one)
    count_instructions: bool = True  # on ARM emulated phones (QEMU): instructions per inference
    profile: bool = True  # ... and where they go (the cost profile), on phones with `insnprofile`
    compare_plain_count: bool = False  # also time the plain count (1 and 2 runs) beside the profiled one
    cache_sim: bool = False  # and simulated cache misses per inference, on phones with `cachecount` (slow)
    allow_unknown_runner_version: bool = False  # run a runner that names no Paddle-Lite version (recorded)

    @property
    def effective_power_mode(self) -> int:
        """With a taskset pin the runtime must not bind (power_mode 0-2 call sched_setaffinity and replace it)."""
        return 3 if self.pin != "none" else self.power_mode


@dataclass
class DeviceOutcome:
    serial: str
    records: list[LatencyRecord] = field(default_factory=list)
    error: ToolkitError | None = None  # what stopped the device's work early, if anything

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.status in ("ok", "skipped") for r in self.records)

    @property
    def disconnected(self) -> bool:
        return isinstance(self.error, DeviceGone)


def _weights(model_dir: Path) -> str:
    data = manifest.read(model_dir)
    return data.weights if data else "trained"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def base_args(nb: str, job: ModelJob, s: BenchSettings, backend: str) -> list[str]:
    """The runner flags that name the model and how it runs (warmup/repeats come per kind of run)."""
    return [
        f"--optimized_model_file={nb}",
        f"--input_shape={','.join(map(str, job.input_shape))}",
        f"--threads={s.threads}",
        f"--power_mode={s.effective_power_mode}",
        f"--backend={backend}",
    ]


def record_base(job: ModelJob, ctx: DeviceContext, s: BenchSettings) -> LatencyRecord:
    info = ctx.info
    return LatencyRecord(
        model=job.name,
        precision=job.precision,
        status="not_run",  # until the rounds say otherwise
        weights=_weights(job.model_dir),
        input_shape=job.input_shape,
        device=info.summary(),
        emulated=info.emulated,
        emulated_cpu=info.qemu_cpu,
        timing_source=timing_source(info),
        runner=RunnerInfo(path=ctx.runner_label, libraries=ctx.bundle.libraries, **ctx.versions.to_json()),
        threads=s.threads,
        power_mode=s.effective_power_mode,
        pin=s.pin,
        warmup=s.warmup,
        repeats=s.repeats,
        seed_ms=job.seed_ms,
        tool_versions={"toolkit": toolkit_version(), "opt": opt_version()},
        run_id=ctx.run_id,
        started_at=_now(),
        warnings=[],
    )


@dataclass
class Rounds:
    avgs_ms: list[float] = field(default_factory=list)
    started_s: list[float] = field(default_factory=list)
    inits_ms: list[float] = field(default_factory=list)
    runner_wall_s: float = 0.0
    first_ms: float | None = None
    runtime: RuntimeLog = RuntimeLog()
    versions: RunnerVersions = RunnerVersions()


def _run_rounds(ctx: DeviceContext, job: ModelJob, args: list[str], s: BenchSettings, nb_version: str) -> Rounds:
    """The timed rounds; the first round's own version line and the runtime's load-time log are checked against the
    .nb's opt version before any figure counts."""
    rounds = Rounds()
    t0 = time.monotonic()
    label = f"{ctx.device.serial}: {job.name} {job.label}"
    while True:
        progress.show(label, "round", len(rounds.avgs_ms) + 1, s.rounds)
        try:
            res = run_round(ctx.device, ctx.work, args, pin_mask=pin_mask(ctx.info, s.pin), timeout_s=s.round_timeout_s)
        except RunnerError as e:
            raise explain_failure(e, job.precision, ctx.device.serial) from None
        finally:
            progress.clear()
        rep = res.report
        rounds.avgs_ms.append(rep.avg_ms)
        rounds.started_s.append(round(time.monotonic() - t0, 3))
        rounds.inits_ms.append(rep.init_ms)
        rounds.runner_wall_s += res.runner_wall_s or 0.0
        if len(rounds.avgs_ms) == 1:
            rounds.first_ms, rounds.runtime = rep.first_ms, res.runtime
            rounds.versions = check_first_round(ctx, nb_version, res)
        n, elapsed = len(rounds.avgs_ms), time.monotonic() - t0
        if s.duration_s is None and n >= s.rounds:
            return rounds
        if s.duration_s is not None and elapsed >= s.duration_s and n >= 3:
            return rounds


def _measure_memory(ctx: DeviceContext, base: list[str], s: BenchSettings, rec: LatencyRecord) -> None:
    """Peak memory from a run of its own: --enable_memory_profile starts a thread that samples every ~200 ms and
    perturbs timing, so it never runs in a timed round. An invalid reading is recorded as unknown, with a note."""
    try:
        res = run_round(
            ctx.device,
            ctx.work,
            [*base, "--warmup=0", "--repeats=1", "--enable_memory_profile=true"],
            pin_mask=None,
            timeout_s=s.round_timeout_s,
        )
    except RunnerError as e:
        rec.memory_note = f"memory run failed: {str(e).splitlines()[0]}"
        return
    rec.peak_memory_mb = res.report.peak_memory_mb
    rec.memory_note = res.report.memory_note or (
        None if res.report.peak_memory_mb is not None else "the runner printed no memory block: unknown"
    )


def bench_model(ctx: DeviceContext, job: ModelJob, s: BenchSettings) -> LatencyRecord:
    # Long but linear: checks, rounds, memory run, instruction count, statistics, each failure kind to its status.
    rec = record_base(job, ctx, s)
    t_start = time.monotonic()
    try:
        if job.runtime == "ncnn":
            bench_ncnn(ctx, job, s, rec, pin_mask(ctx.info, s.pin))
            rec.set(harness_wall_s=round(time.monotonic() - t_start, 3), finished_at=_now())
            return rec
        target, nb_path = nb_for_device(ctx, job)
        nb_info = inspect_nb(nb_path)
        if nb_info.target != target:
            raise RunnerError(f"{nb_path} holds {nb_info.target} kernels but {ctx.info.serial} is {ctx.info.abis}")
        rec.target = target  # type: ignore[assignment]  # "arm" | "x86", validated on assignment
        rec.nb = NbFile(
            path=str(nb_path),
            opt_version=nb_info.opt_version,
            size_bytes=nb_info.size_bytes,
            sha256=sha256_file(nb_path),
        )
        check_runner_version(ctx, nb_info.opt_version)
        wait = wait_until_cool(ctx.device, ctx.baseline_c, s.thermal)
        rec.thermal_wait = wait.facts()
        if wait.waited_s > 0:
            rec.warnings.append(
                f"thermal wait: {wait.waited_s:.0f} s for {wait.start_c} -> {wait.end_c} °C"
                + (" (bound reached, ran anyway)" if wait.timed_out else "")
            )
        rec.temps_before = temps_json(wait.zones)
        remote_nb = ctx.work.file(f"{job.name}-{target}-{job.precision}.nb")
        ctx.device.push(nb_path.read_bytes(), remote_nb)
        base = base_args(remote_nb, job, s, target)
        timed = [*base, f"--warmup={s.warmup}", f"--repeats={s.repeats}"]
        rounds = _run_rounds(ctx, job, timed, s, nb_info.opt_version)
        assert rec.runner is not None
        rec.runner.set(**rounds.versions.to_json())
        stats = latency_stats(rounds.avgs_ms)
        rec.set(**stats.to_json())
        rec.set(
            rounds=len(rounds.avgs_ms),
            rounds_ms=rounds.avgs_ms,
            round_started_s=rounds.started_s,
            first_ms=rounds.first_ms,
            init_ms=sorted(rounds.inits_ms)[len(rounds.inits_ms) // 2],
            runner_wall_s=round(rounds.runner_wall_s, 3),
            sustained_s=s.duration_s,
            thread_binding=thread_binding(s, pin_mask(ctx.info, s.pin), rounds.runtime),
            runtime_cpu={"name": rounds.runtime.cpu_name, "core_archs": list(rounds.runtime.core_archs)}
            if rounds.runtime.logged
            else None,
        )
        rec.warnings += stability_warnings(stats, s.cv_limit, s.throttle_limit)
        if s.memory_profile:
            _measure_memory(ctx, base, s, rec)
        if ctx.info.qemu_cpu is not None and s.count_instructions:
            count_instructions(
                ctx,
                base,
                rec,
                nb_path,
                profile=s.profile,
                compare_plain=s.compare_plain_count,
                timeout_s=s.round_timeout_s,
            )
            if s.cache_sim:
                rec.memory_traffic = memory_traffic(ctx, base, rec, s.round_timeout_s)
            estimate_latency(rec)
        rec.temps_after = temps_json(ctx.device.thermal())
        rec.status = "ok"
    except VersionMismatch as e:
        assert rec.runner is not None
        rec.runner.set(version=runner_version.shown(e.runner_versions), sources=e.runner_versions)
        rec.set(status="failed", error=str(e))
    except CannotRunVariant as e:
        rec.set(status="skipped" if e.cause == "cpu" else "failed", error=str(e))
    except VariantNotForDevice as e:
        rec.set(status="skipped", error=str(e))
    except ToolkitError as e:
        rec.set(status="failed", error=str(e))
    rec.set(harness_wall_s=round(time.monotonic() - t_start, 3), finished_at=_now())
    return rec


def bench_device(
    device: Device,
    jobs: list[ModelJob],
    s: BenchSettings,
    *,
    run_file: RunFile[LatencyRun],
    runner: Path | None,
    run_id: str,
    ncnn_runner: Path | None = None,
) -> DeviceOutcome:
    outcome = DeviceOutcome(device.serial)
    try:
        with device_session(
            device,
            runner=runner,
            run_id=run_id,
            keep=s.keep,
            baseline_c=s.thermal.baseline_c,
            allow_unknown_version=s.allow_unknown_runner_version,
            ncnn_runner=ncnn_runner if any(job.runtime == "ncnn" for job in jobs) else None,
        ) as ctx:
            for i, job in enumerate(jobs):
                if i and s.cooldown_s > 0:
                    time.sleep(s.cooldown_s)
                label = f"{device.serial}: {job.name} {job.label}"
                log.info("%s: benchmarking", label)
                rec = bench_model(ctx, job, s)
                outcome.records.append(rec)
                run_file.add(rec)
                if rec.status == "ok":
                    log.info("%s: median %.2f ms over %d rounds", label, rec.median_ms, rec.rounds)
                    continue
                if rec.status == "skipped":
                    log.info("%s: skipped: %s", label, rec.error)
                    continue
                log.error("error: %s", rec.error)
                if device_gone(device):
                    outcome.error = DeviceGone(device.serial)
                    break
    except ToolkitError as e:
        outcome.error = e
    return outcome


def device_gone(device: Device) -> bool:
    try:
        device.shell("true", timeout_s=10)
        return False
    except DeviceError:
        return True
