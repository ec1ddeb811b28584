"""Sweeps: latency of one model over input shapes (a list, or a width range at a fixed
aspect ratio), then over threads and power modes at the zoo's best shape, on one device. This is how a user checks
the "best input shape" claim and sees what single-thread big-core means on their own phone.

The PP-HumanSeg programs take dynamic shapes, so one .nb serves every shape (benchmark_bin --input_shape)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from benchmark.device.adb import AdbDevice, AdbServer
from benchmark.device.select import select_devices
from benchmark.device.session import ModelJob, device_session
from benchmark.latency.devices import NoUsableDevice
from benchmark.latency.run import BenchSettings, bench_model
from benchmark.records.run_files import new_run_path, utc_stamp, write_run
from benchmark.records.runs import SweepRun
from benchmark.records.types import LatencyRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.program.read import read_program

log = logging.getLogger("benchmark")
POWER_MODES = {
    0: "big (LITE_POWER_HIGH)",
    1: "little (LITE_POWER_LOW)",
    2: "all (LITE_POWER_FULL)",
    3: "no bind (LITE_POWER_NO_BIND)",
}


def _check_dynamic(job: ModelJob, shapes: list[tuple[int, int]]) -> None:
    data = manifest.read(job.model_dir)
    if data is None:
        raise ToolkitError(f"{job.model_dir}: no manifest; convert {job.name} first")
    program = read_program(data.program_files()[0])
    dims = program.inputs[0].dims
    fixed = len(dims) == 4 and dims[2] > 0 and dims[3] > 0
    if fixed and any((w, h) != (dims[3], dims[2]) for w, h in shapes):
        raise ToolkitError(
            f"{job.name}: the program has a fixed input shape {list(dims)}; re-export it with a dynamic shape "
            "(PaddleSeg tools/export.py without --input_shape) to sweep shapes"
        )


@dataclass
class SweepResult:
    path: Path
    records: list[LatencyRecord]  # sweep "shape" rows, then "threads" rows
    emulated: bool

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.records)


def sweep(
    *,
    server: AdbServer,
    job: ModelJob,
    shapes: list[tuple[int, int]],
    threads_list: list[int],
    power_modes: list[int],
    settings: BenchSettings,
    reports: Path,
    runner: Path | None = None,
    serial: str | None = None,
) -> SweepResult:
    """`job` at each W x H of `shapes` (the zoo's best shape is always included), then every threads x power mode
    at the best shape, on one device."""
    serials = select_devices(server, serial)
    if not serials:
        raise NoUsableDevice(server)
    best = (job.input_shape[3], job.input_shape[2])
    shapes = sorted(set(shapes) | {best}, key=lambda s: s[0] * s[1])
    _check_dynamic(job, shapes)
    path = new_run_path("sweep", reports)
    run_file = SweepRun(model=job.name, best_shape_wh=list(best), device=serials[0])
    records = run_file.records
    with device_session(
        AdbDevice(server, serials[0]), runner=runner, run_id=utc_stamp().lower(), keep=settings.keep
    ) as ctx:
        for w, h in shapes:
            log.info("%s: %dx%d", job.name, w, h)
            rec = bench_model(ctx, replace(job, input_shape=[1, 3, h, w]), settings)
            rec.set(sweep="shape", shape_wh=[w, h], pixels=w * h, best=(w, h) == best)
            records.append(rec)
            write_run(path, run_file)
        for threads in threads_list:
            for mode in power_modes:
                log.info("%s: %d thread(s), power mode %d", job.name, threads, mode)
                rec = bench_model(ctx, job, replace(settings, threads=threads, power_mode=mode))
                rec.set(sweep="threads", power_mode_name=POWER_MODES.get(mode, str(mode)))
                records.append(rec)
                write_run(path, run_file)
    return SweepResult(path, records, ctx.info.emulated)
