"""`bench`: latency -> device parity (+ accuracy) -> recommendation -> manifests, for one adb server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.device.adb import AdbServer
from benchmark.device.instructions import NoInstructionCounter
from benchmark.images import ImageSet
from benchmark.latency.devices import LatencyResult, run_latency
from benchmark.latency.jobs import PreparedJobs
from benchmark.latency.run import BenchSettings
from benchmark.parity.checks import DeviceChecks, check_devices
from benchmark.report.collect import collect
from benchmark.report.recommend import Recommendation, write_to_manifests
from benchmark.report.recommend_view import recommendations
from converter.base.errors import ExitCode
from converter.schema.zoo import Zoo


@dataclass(frozen=True)
class BenchRequest:
    """What to measure and where: the prepared jobs, the settings, the images for device parity (None: latency
    only), whether they are labelled (accuracy), and where run files and converted models are."""

    jobs: PreparedJobs
    settings: BenchSettings
    zoo: Zoo
    reports: Path
    models_out: Path
    images: ImageSet | None = None
    accuracy: bool = False
    runner: Path | None = None
    serial: str | None = None
    ncnn_runner: Path | None = None  # ncnn_run for the ncnn jobs (ARM devices)


@dataclass
class BenchResult:
    latency: LatencyResult
    checks: DeviceChecks | None = None
    recommendations: list[Recommendation] = field(default_factory=list)
    recommendation_problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        ok = self.latency.ok and (self.checks is None or self.checks.passed)
        return int(ExitCode.OK if ok else ExitCode.FAILED)


def bench(
    server: AdbServer, request: BenchRequest, *, on_latency: Callable[[LatencyResult], None] | None = None
) -> BenchResult:
    """Latency rounds on every usable device (or `serial`), then device parity on the devices still there, then the
    recommendation from every run file in `reports` (this run's and earlier ones), written into the manifests.
    `on_latency` sees the latency run before the parity starts (the CLI prints it). NoInstructionCounter when no
    device could be set up to give its main figure; NoUsableDevice / UsageError when there is nothing to run."""
    s = request.settings
    latency = run_latency(
        server=server,
        jobs=request.jobs.jobs,
        settings=s,
        reports=request.reports,
        runner=request.runner,
        serial=request.serial,
        model_errors=request.jobs.errors,
        ncnn_runner=request.ncnn_runner,
    )
    setup_errors = [o.error for o in latency.outcomes if isinstance(o.error, NoInstructionCounter)]
    if setup_errors and len(setup_errors) == len(latency.outcomes):
        raise setup_errors[0]
    result = BenchResult(latency)
    if on_latency is not None:
        on_latency(latency)
    if request.images is None:
        return result
    result.checks = check_devices(
        server=server,
        serials=latency.connected(),
        jobs=request.jobs.jobs,
        images=request.images,
        zoo=request.zoo,
        reports=request.reports,
        runner=request.runner,
        run_id=latency.run_id,
        accuracy=request.accuracy,
        keep=s.keep,
        timeout_s=s.round_timeout_s,
        allow_unknown_runner_version=s.allow_unknown_runner_version,
        ncnn_runner=request.ncnn_runner,
    )
    result.recommendations, result.recommendation_problems = record_recommendations(
        request.reports, request.models_out, {job.name for job in request.jobs.jobs}
    )
    return result


def record_recommendations(reports: Path, models_out: Path, models: set[str]) -> tuple[list[Recommendation], list[str]]:
    """The variant to ship per model of `models` and ARM device class, from every run file in `reports` (the newest
    figure per variant and class), recorded in the manifests; what could not be recorded, one line each."""
    recs = [r for r in recommendations(collect(reports, models_out)) if r.model in models]
    return recs, write_to_manifests(recs, models_out)
