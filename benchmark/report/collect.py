"""Reads run files and manifests. A corrupt or foreign JSON file is skipped with a warning naming it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.records.run_files import RUN_KINDS, RunFileError, read_run
from benchmark.records.types import LatencyRecord, ParityRecord

log = logging.getLogger(__name__)
KINDS = RUN_KINDS  # what the writers write (benchmark.records.run_files), so a new kind is never skipped


@dataclass
class Collected:
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in KINDS})
    manifests: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def chronological(self, *kinds: str) -> list[dict[str, Any]]:
        """The runs of these kinds, oldest first (so that the newest wins wherever they are keyed)."""
        return sorted((r for k in kinds for r in self.runs.get(k, [])), key=lambda r: r.get("written_at", ""))

    def latest(self, kind: str, key: tuple[str, ...]) -> list[Any]:
        """Records of every run of `kind` (as their type, see records.types; `run_file` says which file), the newest
        one winning per key (e.g. device serial + model)."""
        best: dict[tuple[Any, ...], Any] = {}
        for run in self.chronological(kind):
            for rec in run.get("records", []):
                best[tuple(_get(rec, k) for k in key)] = rec
        return list(best.values())

    def latest_latency(self) -> list[LatencyRecord]:
        """The newest latency record per device serial, model and precision."""
        return self.latest("latency", ("device.serial", "model", "precision"))

    def latest_parity(self) -> list[ParityRecord]:
        """The newest parity record per source, device serial, model, image and precision."""
        return self.latest("parity", ("source", "device.serial", "model", "image", "precision"))

    def latest_run(self, kind: str, **match: Any) -> dict[str, Any] | None:
        runs = [r for r in self.runs[kind] if all(r.get(k) == v for k, v in match.items())]
        return max(runs, key=lambda r: r.get("written_at", ""), default=None)


def _get(rec: Any, dotted: str) -> Any:
    value: Any = rec
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def collect(reports: Path, models: Path) -> Collected:
    out = Collected()
    for path in sorted(reports.glob("*.json")):
        try:
            data = read_run(path)
        except RunFileError as e:
            out.warnings.append(f"skipping {e}")
            continue
        data["_path"] = str(path)
        out.runs[data["kind"]].append(data)
        out.files.append(path.name)
    for path in sorted(models.glob("*/manifest.json")):
        try:
            out.manifests.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            out.warnings.append(f"skipping {path}: unreadable manifest ({e})")
    for w in out.warnings:
        log.warning("warning: %s", w)
    return out
