"""A latency run over the devices of an adb server: every job on every usable device (or the one asked for), one
device after the other, into one run file rewritten after each record. Returns what it measured."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmark.device.adb import AdbDevice, AdbServer, DeviceError
from benchmark.device.select import select_devices
from benchmark.device.session import ModelJob
from benchmark.latency.run import BenchSettings, DeviceOutcome, bench_device
from benchmark.records.run_files import RunFile, new_run_path, utc_stamp
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from converter.base.errors import UsageError

log = logging.getLogger("benchmark")


class NoUsableDevice(UsageError):
    def __init__(self, server: AdbServer) -> None:
        super().__init__(
            f"no usable device on the adb server {server} (see the warnings above; `adb devices` lists them)"
        )
        self.server = server


@dataclass
class LatencyResult:
    """A latency run over the selected devices: its run file, and each device's outcome with its records."""

    path: Path
    run_id: str
    outcomes: list[DeviceOutcome]
    model_errors: list[str]

    @property
    def records(self) -> list[LatencyRecord]:
        return [r for o in self.outcomes for r in o.records]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.model_errors

    def connected(self) -> list[str]:
        """Devices still there at the end (a device that disconnected is not asked for more work)."""
        return [o.serial for o in self.outcomes if not o.disconnected]


def run_latency(
    *,
    server: AdbServer,
    jobs: list[ModelJob],
    settings: BenchSettings,
    reports: Path,
    runner: Path | None = None,
    serial: str | None = None,
    model_errors: list[str] | None = None,
    run_id: str | None = None,
    ncnn_runner: Path | None = None,
) -> LatencyResult:
    """Every job on every usable device of `server` (or `serial`), one device after the other; the run file is
    rewritten after each record, so an interrupted run keeps what it measured."""
    serials = select_devices(server, serial)
    if not serials:
        raise NoUsableDevice(server)
    if not jobs:
        raise UsageError("no model could be prepared; nothing to run")
    run_id = run_id or utc_stamp().lower()
    path = new_run_path("latency", reports)
    run_file = RunFile(
        path, LatencyRun(adb_server=str(server), settings=asdict(settings), model_errors=model_errors or [])
    )
    outcomes = []
    for s in serials:
        try:
            device = AdbDevice(server, s)
        except DeviceError as e:
            outcomes.append(DeviceOutcome(s, error=e))
            continue
        outcomes.append(
            bench_device(
                device, jobs, settings, run_file=run_file, runner=runner, run_id=run_id, ncnn_runner=ncnn_runner
            )
        )
        if outcomes[-1].error:
            log.error("error: %s", outcomes[-1].error)
    return LatencyResult(path, run_id, outcomes, list(model_errors or []))
