"""A whole farm run from a farm file: discover the devices over every adb server, prepare the models, run every
device in parallel into one run file and the history, and return what happened (the CLI prints it)."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.farm.config import FarmConfig
from benchmark.farm.discovery import Discovery, discover
from benchmark.farm.history import History, HistoryError
from benchmark.farm.run import FarmRun, run_farm
from benchmark.images import ImageSet, generated_image_set, load_image_set
from benchmark.latency.jobs import prepare_jobs
from benchmark.latency.run import DeviceOutcome
from benchmark.records.parts import verdict_of
from benchmark.records.run_files import RunFile, new_run_path, utc_stamp
from benchmark.records.runs import FarmRunInfo, LatencyRun
from benchmark.records.types import LatencyRecord
from converter.artifacts.manifest import toolkit_version
from converter.base.errors import UsageError
from converter.schema.zoo import Zoo
from converter.sources.spec import ModelSources

log = logging.getLogger("benchmark")
RUN_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class NothingToRun(UsageError):
    """No usable device or no model: the farm run does not start. `found` says which devices were seen."""

    def __init__(self, message: str, found: Discovery) -> None:
        super().__init__(message)
        self.found = found


@dataclass
class FarmResult:
    run_id: str
    path: Path  # the latency run file
    history_path: str  # the history's location as shown (a file, or a server URL without its password)
    found: Discovery
    outcomes: list[DeviceOutcome]
    model_errors: list[str]
    wall_s: float
    interrupted: bool
    history_errors: list[str] = field(default_factory=list)  # writes the history refused (records kept in `path`)

    @property
    def records(self) -> list[LatencyRecord]:
        return [r for o in self.outcomes for r in o.records]

    @property
    def ok(self) -> bool:
        bad = [r for r in self.records if r.status not in ("ok", "skipped") or verdict_of(r.parity) == "fail"]
        return not (bad or self.model_errors or self.found.server_errors or any(o.error for o in self.outcomes))


def parity_images(cfg: FarmConfig) -> ImageSet | None:
    if not cfg.parity.enabled:
        return None
    images = load_image_set(cfg.parity.images) if cfg.parity.images else generated_image_set()
    for w in images.warnings:
        log.warning("warning: %s", w)
    return ImageSet(images.source, images.items[: cfg.parity.max_images], images.warnings)


def run_farm_file(
    *,
    cfg: FarmConfig,
    farm_file: Path,
    zoo: Zoo,
    sources: ModelSources,
    reports: Path,
    models: list[str] | None = None,
    precisions: list[str] | None = None,
    history: str | Path | None = None,
    force: bool = False,
    run_name: str | None = None,
) -> FarmResult:
    if run_name and not RUN_NAME_RE.match(run_name):
        raise UsageError(f"--run-name {run_name!r}: use lower-case letters, digits, '_', '-', '.' (max 64)")
    images = parity_images(cfg)
    found = discover(cfg)  # before any conversion: a farm with no usable device converts nothing
    if not found.devices:
        raise NothingToRun(f"no usable device on {', '.join(cfg.servers)}; nothing to run", found)
    prepared = prepare_jobs(
        zoo=zoo, sources=sources, names=models or cfg.models, precisions=precisions or cfg.precisions
    )
    if not prepared.jobs:
        raise NothingToRun("no model could be prepared; nothing to run", found)
    run_id = run_name or f"{utc_stamp().lower()}-{socket.gethostname().lower()[:20]}-{os.getpid()}"
    run_id = re.sub(r"[^a-z0-9_.-]", "-", run_id)
    store = History(history or cfg.history)
    path = new_run_path("latency", reports)
    farm_info = FarmRunInfo(
        run_id=run_id,
        farm_file=str(farm_file),
        servers=cfg.servers,
        devices=[fd.facts() for fd in found.devices],
        skipped_devices=found.skipped,
        server_errors=found.server_errors,
        history=str(store.path),
    )
    latency = LatencyRun(farm=farm_info, model_errors=prepared.errors, settings=cfg.measurement.model_dump())
    store.start_run(
        run_id,
        host=socket.gethostname(),
        farm_file=str(farm_file),
        toolkit=toolkit_version(),
        payload=latency.model_dump(mode="json", include={"farm", "model_errors", "settings"}),
    )
    run = FarmRun(
        cfg, zoo, prepared.jobs, run_id, RunFile(path, latency), store, images, reports / path.stem, force=force
    )
    t0 = time.monotonic()
    log.info("farm run %s: %d job(s) on %d device(s)", run_id, len(prepared.jobs), len(found.devices))
    try:
        outcomes = run_farm(found, run)
    finally:
        try:
            store.finish_run(run_id, "interrupted" if run.stop.is_set() else "finished")
        except HistoryError as e:
            run.history_errors.append(str(e))
        store.close()
    wall_s = time.monotonic() - t0
    run.run_file.set(farm_wall_s=round(wall_s, 3))
    result = FarmResult(run_id, path, store.path, found, outcomes, prepared.errors, wall_s, run.stop.is_set())
    result.history_errors = run.history_errors
    return result
