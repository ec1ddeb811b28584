"""Single-thread, big-core latency of converted models on a device: R rounds of benchmark_bin (each W warmup +
N repeats), own statistics across rounds, thermal control, one record per (device, model, precision)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.device import Device, DeviceError
from benchmark.device_info import DeviceInfo, hottest_cpu_c
from benchmark.device_runner import RUNNER_NAME, RunnerError, WorkDir, run_round, runner_bytes
from benchmark.run_files import write_run
from benchmark.stats import latency_stats, stability_warnings
from benchmark.thermal import ThermalPolicy, temps_json, wait_until_cool
from converter import manifest
from converter.errors import ToolkitError
from converter.manifest import toolkit_version
from converter.model_files import sha256_file
from converter.nb_inspect import inspect_nb
from converter.opt import opt_version

log = logging.getLogger(__name__)
ARM_ABIS = ("arm64-v8a", "armeabi-v7a", "armeabi")
X86_ABIS = ("x86_64", "x86")


@dataclass(frozen=True)
class BenchSettings:
    warmup: int = 10
    repeats: int = 50
    rounds: int = 10
    duration_s: float | None = None  # sustained mode: keep running rounds this long
    threads: int = 1
    power_mode: int = 0  # LITE_POWER_HIGH: bind the big cluster
    pin: str = "none"  # none | big | prime (taskset on top of power_mode)
    round_timeout_s: float = 300.0
    thermal: ThermalPolicy = ThermalPolicy()
    cooldown_s: float = 0.0
    cv_limit: float = 0.05
    throttle_limit: float = 0.05
    strict: bool = False
    keep: bool = False
    memory_profile: bool = True


@dataclass(frozen=True)
class ModelJob:
    name: str
    model_dir: Path
    input_shape: list[int]
    seed_ms: float | None
    precision: str = "fp32"


class RunFile:
    """The run's JSON file, rewritten atomically after every completed record (thread-safe)."""

    def __init__(self, path: Path, payload: dict[str, Any]) -> None:
        self.path = path
        self.payload = payload
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        write_run(path, "latency", payload, self.records)

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)
            write_run(self.path, "latency", self.payload, self.records)

    def set(self, key: str, value: Any) -> None:
        """Add a top-level figure known only at the end (e.g. the run's wall time)."""
        with self._lock:
            self.payload[key] = value
            write_run(self.path, "latency", self.payload, self.records)


@dataclass
class DeviceOutcome:
    serial: str
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(r["status"] in ("ok", "skipped") for r in self.records)


def target_for(info: DeviceInfo) -> str:
    abis = info.abis
    if any(a in ARM_ABIS for a in abis):
        return "arm"
    if any(a in X86_ABIS for a in abis):
        return "x86"
    raise DeviceError(f"{info.serial}: unknown ABI list {abis}; expected arm64-v8a/armeabi-v7a or x86_64/x86")


def pin_mask(info: DeviceInfo, pin: str) -> str | None:
    cpus = {"prime": info.prime_cpus, "big": info.big_cpus}.get(pin, lambda: [])()
    return format(sum(1 << c for c in cpus), "x") if cpus else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _runner_args(nb: str, job: ModelJob, s: BenchSettings, backend: str) -> list[str]:
    args = [
        f"--optimized_model_file={nb}",
        f"--input_shape={','.join(map(str, job.input_shape))}",
        f"--warmup={s.warmup}",
        f"--repeats={s.repeats}",
        f"--threads={s.threads}",
        f"--power_mode={s.power_mode}",
        f"--backend={backend}",
    ]
    if s.memory_profile:
        args.append("--enable_memory_profile=true")
    return args


def _record_base(job: ModelJob, info: DeviceInfo, s: BenchSettings, runner_label: str) -> dict[str, Any]:
    return {
        "model": job.name,
        "precision": job.precision,
        "weights": (manifest.load(job.model_dir) or {}).get("weights", "trained"),
        "input_shape": job.input_shape,
        "device": info.summary(),
        "emulated": info.emulated,
        "timing_source": "host (emulated device: Paddle-Lite x86 on this machine)" if info.emulated else "device",
        "runner": {"path": runner_label, "version": None},
        "threads": s.threads,
        "power_mode": s.power_mode,
        "pin": s.pin,
        "warmup": s.warmup,
        "repeats": s.repeats,
        "seed_ms": job.seed_ms,
        "tool_versions": {"toolkit": toolkit_version(), "opt": opt_version()},
        "started_at": _now(),
        "warnings": [],
    }


@dataclass(frozen=True)
class DeviceContext:
    device: Device
    info: DeviceInfo
    work: WorkDir
    runner_label: str
    baseline_c: float | None


@dataclass
class Rounds:
    avgs_ms: list[float] = field(default_factory=list)
    started_s: list[float] = field(default_factory=list)
    inits_ms: list[float] = field(default_factory=list)
    runner_wall_s: float = 0.0
    peak_memory_mb: float | None = None


class VariantNotForDevice(ToolkitError):
    """This precision has no build for the device's target (fp16 exists for ARM only): skipped, not failed."""


def nb_for_device(ctx: DeviceContext, job: ModelJob) -> tuple[str, Path]:
    """The .nb whose kernels match the device ABI (the mistake users make most often)."""
    target = target_for(ctx.info)
    nb_path = job.model_dir / manifest.nb_name(target, job.precision)
    if not nb_path.is_file():
        data = manifest.load(job.model_dir) or {}
        why = (data.get("not_built") or {}).get(nb_path.name)
        if why:
            raise VariantNotForDevice(f"{job.name} {job.precision} on {ctx.info.serial} ({target}): {why}")
        raise RunnerError(f"{nb_path} does not exist: convert {job.name} for {target} first")
    return target, nb_path


def _run_rounds(ctx: DeviceContext, args: list[str], s: BenchSettings, rec: dict[str, Any], nb_version: str) -> Rounds:
    rounds = Rounds()
    t0 = time.monotonic()
    while True:
        res = run_round(ctx.device, ctx.work, args, pin_mask=pin_mask(ctx.info, s.pin), timeout_s=s.round_timeout_s)
        rep = res.report
        rounds.avgs_ms.append(rep.avg_ms)
        rounds.started_s.append(round(time.monotonic() - t0, 3))
        rounds.inits_ms.append(rep.init_ms)
        rounds.runner_wall_s += res.runner_wall_s or 0.0
        if rep.peak_memory_mb is not None:
            rounds.peak_memory_mb = max(rounds.peak_memory_mb or 0.0, rep.peak_memory_mb)
        if len(rounds.avgs_ms) == 1:
            rec["runner"]["version"] = rep.version
            rec["first_ms"] = rep.first_ms
            _check_version(rec, nb_version, rep.version, s.strict)
        n, elapsed = len(rounds.avgs_ms), time.monotonic() - t0
        if s.duration_s is None and n >= s.rounds:
            return rounds
        if s.duration_s is not None and elapsed >= s.duration_s and n >= 3:
            return rounds


def bench_model(ctx: DeviceContext, job: ModelJob, s: BenchSettings) -> dict[str, Any]:
    rec = _record_base(job, ctx.info, s, ctx.runner_label)
    t_start = time.monotonic()
    try:
        target, nb_path = nb_for_device(ctx, job)
        nb_info = inspect_nb(nb_path)
        if nb_info.target != target:
            raise RunnerError(f"{nb_path} holds {nb_info.target} kernels but {ctx.info.serial} is {ctx.info.abis}")
        rec["target"] = target
        rec["nb"] = {
            "path": str(nb_path),
            "opt_version": nb_info.opt_version,
            "size_bytes": nb_info.size_bytes,
            "sha256": sha256_file(nb_path),
        }
        wait = wait_until_cool(ctx.device, ctx.baseline_c, s.thermal)
        rec["thermal_wait"] = wait.to_json()
        if wait.waited_s > 0:
            rec["warnings"].append(
                f"thermal wait: {wait.waited_s:.0f} s for {wait.start_c} -> {wait.end_c} °C"
                + (" (bound reached, ran anyway)" if wait.timed_out else "")
            )
        rec["temps_before"] = temps_json(wait.zones)
        remote_nb = ctx.work.file(f"{job.name}-{target}-{job.precision}.nb")
        ctx.device.push(nb_path.read_bytes(), remote_nb)
        args = _runner_args(remote_nb, job, s, target)
        rounds = _run_rounds(ctx, args, s, rec, nb_info.opt_version)
        stats = latency_stats(rounds.avgs_ms)
        rec.update(stats.to_json())
        rec.update(
            rounds=len(rounds.avgs_ms),
            rounds_ms=rounds.avgs_ms,
            round_started_s=rounds.started_s,
            init_ms=sorted(rounds.inits_ms)[len(rounds.inits_ms) // 2],
            peak_memory_mb=rounds.peak_memory_mb,
            runner_wall_s=round(rounds.runner_wall_s, 3),
            sustained_s=s.duration_s,
        )
        rec["warnings"] += stability_warnings(stats, s.cv_limit, s.throttle_limit)
        rec["temps_after"] = temps_json(ctx.device.thermal())
        rec["status"] = "ok"
    except VariantNotForDevice as e:
        rec["status"] = "skipped"
        rec["error"] = str(e)
    except ToolkitError as e:
        rec["status"] = "failed"
        rec["error"] = str(e)
    rec["harness_wall_s"] = round(time.monotonic() - t_start, 3)
    rec["finished_at"] = _now()
    return rec


def _check_version(rec: dict[str, Any], nb_version: str, runner_version: str | None, strict: bool) -> None:
    if runner_version is None or runner_version == nb_version:
        return
    msg = (
        f"version mismatch: the .nb was written by opt {nb_version} but the runner is Paddle-Lite {runner_version}; "
        "results may be wrong or the model may crash (rebuild one of them from the same release)"
    )
    if strict:
        raise RunnerError(msg + " (--strict)")
    rec["warnings"].append(msg)
    log.warning("warning: %s: %s", rec["model"], msg)


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
) -> Iterator[DeviceContext]:
    """Device info, a per-run work dir with the runner pushed into it, removed at the end unless `keep`."""
    info = info or device.info()
    baseline = baseline_c if baseline_c is not None else hottest_cpu_c(info.zones)
    data, runner_label = runner_bytes(runner, info)
    work = WorkDir(device, run_id, work_base)
    work.create()
    try:
        device.push(data, work.file(RUNNER_NAME), mode=0o755)
        yield DeviceContext(device, info, work, runner_label, baseline)
    finally:
        if not keep:
            try:
                work.remove()
            except DeviceError:
                pass


def bench_device(
    device: Device, jobs: list[ModelJob], s: BenchSettings, *, run_file: RunFile, runner: Path | None, run_id: str
) -> DeviceOutcome:
    outcome = DeviceOutcome(device.serial)
    try:
        with device_session(device, runner=runner, run_id=run_id, keep=s.keep, baseline_c=s.thermal.baseline_c) as ctx:
            for i, job in enumerate(jobs):
                if i and s.cooldown_s > 0:
                    time.sleep(s.cooldown_s)
                label = f"{device.serial}: {job.name} {job.precision}"
                log.info("%s: benchmarking", label)
                rec = bench_model(ctx, job, s)
                outcome.records.append(rec)
                run_file.add(rec)
                if rec["status"] == "ok":
                    log.info("%s: median %.2f ms over %d rounds", label, rec["median_ms"], rec["rounds"])
                    continue
                if rec["status"] == "skipped":
                    log.info("%s: skipped: %s", label, rec["error"])
                    continue
                log.error("error: %s", rec["error"])
                if device_gone(device):
                    outcome.error = f"{device.serial}: the device disconnected; its remaining models were not run"
                    break
    except ToolkitError as e:
        outcome.error = str(e)
    return outcome


def device_gone(device: Device) -> bool:
    try:
        device.shell("true", timeout_s=10)
        return False
    except DeviceError:
        return True
