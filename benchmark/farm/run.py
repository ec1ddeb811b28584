"""A farm run: one worker thread per discovered device, every job under the device's own lock, each finished record
written at once to the run file and the history, records already complete reused unless forced, and a device that
disappears reported with its remaining jobs as not run. adb's client/server network is the distributed engine."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.device.adb import AdbDevice, DeviceGone
from benchmark.device.protocol import Device
from benchmark.device.session import DeviceContext, ModelJob, device_session, nb_for_device
from benchmark.device.thermal import ThermalPolicy
from benchmark.farm.config import FarmConfig
from benchmark.farm.discovery import Discovery, FarmDevice
from benchmark.farm.history import History, HistoryError, device_key
from benchmark.farm.lock import DeviceBusy, DeviceLock
from benchmark.images import ImageSet
from benchmark.latency.run import BenchSettings, DeviceOutcome, bench_model, device_gone
from benchmark.parity.device import check_on_device
from benchmark.records.parts import LockSpan, ParitySummary, verdict_of
from benchmark.records.run_files import RunFile
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from converter.artifacts.manifest import toolkit_version
from converter.base.errors import ToolkitError
from converter.schema.zoo import Zoo
from converter.sources.model_files import sha256_file

log = logging.getLogger("benchmark")


class Interrupted(ToolkitError):
    """Ctrl-C: every worker finished its current job; the rest is reported as not run."""


def bench_settings(cfg: FarmConfig) -> BenchSettings:
    m = cfg.measurement
    return BenchSettings(
        warmup=m.warmup,
        repeats=m.repeats,
        rounds=m.rounds,
        pin=m.pin,
        round_timeout_s=m.round_timeout_s,
        cooldown_s=m.cooldown_s,
        cv_limit=m.cv_limit,
        thermal=ThermalPolicy(),
    )


@dataclass
class FarmRun:
    """What every worker shares; the run file and the history are safe to use from several threads."""

    cfg: FarmConfig
    zoo: Zoo
    jobs: list[ModelJob]
    run_id: str
    run_file: RunFile[LatencyRun]
    history: History
    images: ImageSet | None
    artifacts: Path
    force: bool = False
    host: str = field(default_factory=socket.gethostname)
    stop: threading.Event = field(default_factory=threading.Event)
    # How a worker reaches its device: over adb; unit tests give an in-memory Device (tests/fake_device.py)
    open_device: Callable[[FarmDevice], Device] = field(default=lambda fd: AdbDevice(fd.server, fd.serial))
    _history_lock: threading.Lock = field(default_factory=threading.Lock)
    history_errors: list[str] = field(default_factory=list)  # writes the history refused: the run file has them

    def save(self, rec: LatencyRecord) -> None:
        """Into the history, and always into the run file: a history server lost mid-run loses no measurement (the
        run file can be imported later: make history-import RUN_FILE=...)."""
        try:
            with self._history_lock:
                rec.history_id = self.history.add_record(self.run_id, rec)
        except HistoryError as e:
            with self._history_lock:
                if not self.history_errors:
                    log.error("error: %s; records go on into the run file %s", e, self.run_file.path)
                self.history_errors.append(str(e))
        self.run_file.add(rec)

    def find_complete(self, ctx: DeviceContext, job: ModelJob, nb_sha256: str) -> tuple[int, LatencyRecord] | None:
        key = device_key(ctx.info.summary())
        with self._history_lock:
            return self.history.find_complete(key, job.name, job.precision, toolkit_version(), nb_sha256)

    def reuse(self, record_id: int, old: LatencyRecord) -> LatencyRecord:
        with self._history_lock:
            self.history.reuse(self.run_id, record_id)
        rec = old.model_copy(deep=True)
        rec.set(history_id=record_id, reused_from_run=old.farm_run_id, farm_run_id=self.run_id)
        self.run_file.add(rec)
        return rec


def _parity(ctx: DeviceContext, job: ModelJob, run: FarmRun) -> ParitySummary:
    assert run.images is not None
    tol = run.zoo.tolerance(run.zoo.get(job.name), job.precision)
    try:
        res = check_on_device(
            ctx,
            job,
            run.images,
            tol,
            artifacts=run.artifacts / ctx.device.serial.replace(":", "_"),
            timeout_s=run.cfg.measurement.round_timeout_s,
        )
    except ToolkitError as e:
        return ParitySummary(verdict="fail", passed=False, error=str(e), images=0)
    return res.summary


def _already_done(ctx: DeviceContext, job: ModelJob, run: FarmRun) -> tuple[int, LatencyRecord] | None:
    try:
        _, nb_path = nb_for_device(ctx, job)
        sha = sha256_file(nb_path)
    except ToolkitError:
        return None  # bench_model reports it
    return run.find_complete(ctx, job, sha)


def run_job(ctx: DeviceContext, job: ModelJob, lock: DeviceLock, run: FarmRun) -> LatencyRecord:
    label = f"{ctx.device.serial}: {job.name} {job.precision}"
    done = None if run.force else _already_done(ctx, job, run)
    if done is not None:
        record_id, old = done
        log.info("%s: already measured in run %s: reused (--force measures again)", label, old.farm_run_id)
        return run.reuse(record_id, old)
    waited = lock.acquire(run.cfg.lock.wait_s, run.cfg.lock.poll_s)
    held_from = time.time()
    done = None if run.force or waited == 0 else _already_done(ctx, job, run)  # measured while we waited?
    if done is not None:
        lock.release()
        log.info("%s: measured by run %s while we waited: reused", label, done[1].farm_run_id)
        return run.reuse(*done)
    try:
        log.info("%s: benchmarking", label)
        rec = bench_model(ctx, job, bench_settings(run.cfg))
        if rec.status == "ok" and run.images is not None:
            rec.parity = _parity(ctx, job, run)
    finally:
        held_until = time.time()  # before the release: another run may take the lock the moment it goes
        lock.release()
    rec.lock = LockSpan(waited_s=round(waited, 3), held_from_unix_s=held_from, held_until_unix_s=held_until)
    _stamp(rec, run)
    run.save(rec)
    if rec.status == "ok":
        verdict = "" if rec.parity is None else f", parity {(verdict_of(rec.parity) or 'not_run').upper()}"
        log.info("%s: median %.2f ms over %d rounds%s", label, rec.median_ms, rec.rounds, verdict)
    elif rec.status == "skipped":
        log.info("%s: skipped: %s", label, rec.error)
    else:
        log.error("error: %s", rec.error)
    return rec


def _stamp(rec: LatencyRecord, run: FarmRun) -> None:
    rec.set(device_key=rec.device.key, farm_run_id=run.run_id, host=run.host)


def _not_run(fd: FarmDevice, job: ModelJob, run: FarmRun, reason: str) -> LatencyRecord:
    rec = LatencyRecord(
        model=job.name,
        precision=job.precision,
        input_shape=job.input_shape,
        device=fd.info.summary(),
        emulated=fd.info.emulated,
        seed_ms=job.seed_ms,
        tool_versions={"toolkit": toolkit_version()},
        status="not_run",
        error=reason,
        warnings=[],
    )
    _stamp(rec, run)
    run.save(rec)
    return rec


def run_device(fd: FarmDevice, run: FarmRun) -> DeviceOutcome:
    outcome = DeviceOutcome(fd.serial)
    device = run.open_device(fd)
    lock = DeviceLock(device, fd.settings.work_dir or run.cfg.work_dir, stale_after_s=run.cfg.lock.stale_after_s)
    pending = list(run.jobs)
    try:
        with device_session(
            device,
            runner=fd.settings.runner,
            run_id=run.run_id,
            keep=False,
            work_base=fd.settings.work_dir or run.cfg.work_dir,
            info=fd.info,
            allow_unknown_version=fd.settings.allow_unknown_runner_version,
        ) as ctx:
            while pending and not run.stop.is_set():
                job = pending[0]
                try:
                    rec = run_job(ctx, job, lock, run)
                except DeviceBusy as e:
                    outcome.error = e
                    break
                pending.pop(0)
                outcome.records.append(rec)
                if rec.status == "failed" and device_gone(device):
                    outcome.error = DeviceGone(f"{fd.serial} ({fd.key})", "its remaining jobs were not run")
                    break
                if pending and run.cfg.measurement.cooldown_s > 0:
                    time.sleep(run.cfg.measurement.cooldown_s)
    except ToolkitError as e:
        if outcome.error is None and device_gone(device):
            outcome.error = DeviceGone(f"{fd.serial} ({fd.key})", f"its remaining jobs were not run ({e})")
        elif outcome.error is None:
            outcome.error = e
    finally:
        lock.release()
    if outcome.error is None and run.stop.is_set():
        outcome.error = Interrupted("the farm run was interrupted")
    if outcome.error is not None:
        reason = str(outcome.error)
        if not isinstance(outcome.error, (DeviceGone, Interrupted)) and fd.serial not in reason:
            reason = f"{fd.serial} ({fd.key}): {reason}"
        log.error("error: %s", reason)
        outcome.records += [_not_run(fd, job, run, reason) for job in pending]
    return outcome


def run_farm(found: Discovery, run: FarmRun) -> list[DeviceOutcome]:
    """All devices in parallel; Ctrl-C lets every worker finish its current job, then reports the rest not run."""
    with ThreadPoolExecutor(max_workers=max(1, len(found.devices)), thread_name_prefix="farm") as pool:
        futures = [pool.submit(run_device, fd, run) for fd in found.devices]
        try:
            while not all(f.done() for f in futures):
                time.sleep(0.2)
        except KeyboardInterrupt:
            run.stop.set()
            log.error("error: interrupted: finishing the jobs in progress (the next run resumes from here)")
        return [f.result() for f in futures]
