"""Device parity and accuracy over every selected device and model; writes `parity-*.json` (records with
`source: "device"` and the device) and, for a labelled set, `accuracy-*.json` with the seed's mIoU beside."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.device.adb import AdbDevice, AdbServer
from benchmark.device.runner import ROUND_TIMEOUT_S, CannotRunVariant
from benchmark.device.session import DeviceContext, ModelJob, VariantNotForDevice, device_session
from benchmark.images import ImageSet
from benchmark.parity.device import check_on_device
from benchmark.parity.ncnn_device import check_ncnn_on_device
from benchmark.records.parts import ParitySummary, verdict_of
from benchmark.records.run_files import new_run_path, write_run
from benchmark.records.runs import AccuracyRun, ParityRun
from benchmark.records.types import AccuracyRecord, ParityRecord
from converter.base.errors import ToolkitError
from converter.schema.zoo import Zoo

log = logging.getLogger("benchmark")
SEED_NOTE = "the seed's mIoU was measured on a different, larger set (PP-HumanSeg-14K / mini Supervisely)"


@dataclass
class DeviceChecks:
    parity_path: Path
    accuracy_path: Path | None
    summaries: list[ParitySummary]  # one per device and model variant (or per device that failed as a whole)
    records: list[ParityRecord]  # one per image

    def count(self, verdict: str) -> int:
        return sum(1 for s in self.summaries if verdict_of(s) == verdict)

    @property
    def judged(self) -> int:
        """Variants whose accuracy was judged (pass or fail); 'not run' is neither."""
        return self.count("pass") + self.count("fail")

    @property
    def passed(self) -> bool:
        """Something was judged and nothing failed (a variant that could not run is not a pass, nor a failure)."""
        return self.count("pass") > 0 and self.count("fail") == 0


def check_devices(
    *,
    server: AdbServer,
    serials: list[str],
    jobs: list[ModelJob],
    images: ImageSet,
    zoo: Zoo,
    reports: Path,
    runner: Path | None,
    run_id: str,
    accuracy: bool,
    keep: bool = False,
    timeout_s: float = ROUND_TIMEOUT_S,
    allow_unknown_runner_version: bool = False,
    ncnn_runner: Path | None = None,
) -> DeviceChecks:
    parity_path = new_run_path("parity", reports)
    artifacts = reports / parity_path.stem
    run = ParityRun(
        source="device", images=images.source, image_count=len(images.items), image_warnings=list(images.warnings)
    )
    records, summaries = run.records, run.models
    for serial in serials:
        try:
            with device_session(
                AdbDevice(server, serial),
                runner=runner,
                run_id=run_id,
                work_name=f"{run_id}-parity",
                keep=keep,
                allow_unknown_version=allow_unknown_runner_version,
                ncnn_runner=ncnn_runner if any(job.runtime == "ncnn" for job in jobs) else None,
            ) as ctx:
                for job in jobs:
                    summary, recs = _check_job(
                        ctx, job, images=images, zoo=zoo, artifacts=artifacts, timeout_s=timeout_s,
                        allow_unknown=allow_unknown_runner_version,
                    )  # fmt: skip
                    summaries.append(summary)
                    records += recs
                    write_run(parity_path, run)
        except ToolkitError as e:
            summaries.append(ParitySummary(device=serial, verdict="fail", passed=False, error=str(e)))
            log.error("error: %s", e)
    write_run(parity_path, run)
    accuracy_path = None
    if accuracy:
        accuracy_path = new_run_path("accuracy", reports)
        accuracy_records = [
            AccuracyRecord(
                model=r.model,
                image=r.image,
                precision=r.precision,
                runtime=r.runtime,
                device=r.device,
                gt_iou_reference=r.gt_iou_reference,
                gt_iou_candidate=r.gt_iou_candidate,
            )
            for r in records
            if "gt_iou_reference" in r.model_fields_set
        ]
        rows = [s for s in summaries if s.ground_truth.labelled]
        write_run(
            accuracy_path, AccuracyRun(dataset=images.source, note=SEED_NOTE, models=rows, records=accuracy_records)
        )
    return DeviceChecks(parity_path, accuracy_path, summaries, records)


def _check_job(
    ctx: DeviceContext,
    job: ModelJob,
    *,
    images: ImageSet,
    zoo: Zoo,
    artifacts: Path,
    timeout_s: float,
    allow_unknown: bool,
) -> tuple[ParitySummary, list[ParityRecord]]:
    """One model variant on one device: its summary and per-image records; what cannot run is said, not raised."""
    serial = ctx.device.serial

    def base(**fields: Any) -> ParitySummary:
        return ParitySummary(
            model=job.name, precision=job.precision, runtime=job.runtime, device=serial, passed=False, **fields
        )

    log.info("%s: %s %s: device parity on %d image(s)", serial, job.name, job.label, len(images.items))
    entry = zoo.get(job.name) if job.name in zoo.names() else None  # a model of your own (--converted): defaults
    tol = zoo.tolerance(entry, job.precision)
    try:
        if job.runtime == "ncnn":
            res = check_ncnn_on_device(ctx, job, images, tol, artifacts=artifacts, timeout_s=timeout_s,
                                       allow_unknown_version=allow_unknown)  # fmt: skip
        else:
            res = check_on_device(ctx, job, images, tol, artifacts=artifacts, timeout_s=timeout_s)
    except CannotRunVariant as e:
        if e.cause == "runner":  # fixable: another runner
            log.error("error: %s: %s", job.name, e)
            return base(verdict="fail", error=str(e)), []
        return base(verdict="not_run", not_run=str(e)), []
    except VariantNotForDevice as e:
        return base(verdict="not_run", not_run=str(e)), []
    except ToolkitError as e:
        log.error("error: %s: %s", job.name, e)
        return base(verdict="fail", error=str(e)), []
    res.summary.seed_miou_percent = entry.published.miou_percent if entry else None
    return res.summary, res.records
