"""Reads run files and manifests, each as its type. A corrupt or foreign file is skipped with a warning naming it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmark.records.parts import ParitySummary
from benchmark.records.run_files import RunFileError, read_run
from benchmark.records.runs import LatencyRun, ParityRun, RunHeader
from benchmark.records.types import LatencyRecord, ParityRecord
from converter.artifacts.manifest import ManifestError, read
from converter.schema.manifest_types import Manifest

log = logging.getLogger(__name__)
RunT = TypeVar("RunT", bound=RunHeader)
K = TypeVar("K")


@dataclass
class Collected:
    runs: list[RunHeader] = field(default_factory=list)
    manifests: list[Manifest] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def chronological(self, kind: type[RunT]) -> list[RunT]:
        """The runs of this kind, oldest first (so that the newest wins wherever they are keyed)."""
        return sorted((r for r in self.runs if isinstance(r, kind)), key=lambda r: r.written_at)

    def latest_run(self, kind: type[RunT], match: Callable[[RunT], bool] = lambda _: True) -> RunT | None:
        runs = [r for r in self.chronological(kind) if match(r)]
        return runs[-1] if runs else None

    def latest_latency(self) -> list[LatencyRecord]:
        """The newest latency record per device serial, model, runtime and precision."""
        return _newest(
            (rec for run in self.chronological(LatencyRun) for rec in run.records),
            lambda r: (r.device.serial, r.model, r.runtime, r.precision),
        )

    def latest_parity(self) -> list[ParityRecord]:
        """The newest parity record per source, device serial, model, image, runtime and precision."""
        return _newest(
            (rec for run in self.chronological(ParityRun) for rec in run.records),
            lambda r: (r.source, r.device.serial if r.device else None, r.model, r.image, r.runtime, r.precision),
        )

    def device_parity_summaries(self) -> list[ParitySummary]:
        """Every device parity summary, oldest run first."""
        return [m for run in self.chronological(ParityRun) if run.source == "device" for m in run.models]

    def manifest(self, model: str) -> Manifest | None:
        return next((m for m in self.manifests if m.model == model), None)


def _newest(records: Any, key: Callable[[Any], tuple[Any, ...]]) -> list[Any]:
    best: dict[tuple[Any, ...], Any] = {}
    for rec in records:
        best[key(rec)] = rec
    return list(best.values())


def collect(reports: Path, models: Path) -> Collected:
    out = Collected()
    for path in sorted(reports.glob("*.json")):
        try:
            run = read_run(path)
        except RunFileError as e:
            out.warnings.append(f"skipping {e}")
            continue
        out.runs.append(run)
        out.files.append(path.name)
    for folder in sorted(p.parent for p in models.glob("*/manifest.json")):
        try:
            data = read(folder)
        except ManifestError as e:
            out.warnings.append(f"skipping {e}")
            continue
        if data is None:
            out.warnings.append(f"skipping {folder / 'manifest.json'}: unreadable or of another schema version")
            continue
        out.manifests.append(data)
    out.manifests.sort(key=lambda m: m.model)
    for w in out.warnings:
        log.warning("warning: %s", w)
    return out
