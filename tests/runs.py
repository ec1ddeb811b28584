"""Run files as the tests read them: through the record API (benchmark.records.run_files.read_run), as their
types, never as JSON dicts."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from benchmark.records.run_files import read_run
from benchmark.records.runs import RUN_TYPES, RunHeader
from converter.artifacts.manifest import read
from converter.schema.manifest_types import Manifest

RunT = TypeVar("RunT", bound=RunHeader)


def kind_of(run_type: type[RunHeader]) -> str:
    return next(k for k, t in RUN_TYPES.items() if t is run_type)


def read_as(path: Path, run_type: type[RunT]) -> RunT:
    run = read_run(path)
    assert isinstance(run, run_type), f"{path} is a {type(run).__name__}, not a {run_type.__name__}"
    return run


def latest(reports: Path, run_type: type[RunT]) -> RunT:
    """The newest run file of this kind in `reports` (their names sort by time)."""
    files = sorted(reports.glob(f"{kind_of(run_type)}-*.json"))
    assert files, f"no {kind_of(run_type)} run file in {reports}"
    return read_as(files[-1], run_type)


def all_of(reports: Path, run_type: type[RunT]) -> list[RunT]:
    return [read_as(p, run_type) for p in sorted(reports.glob(f"{kind_of(run_type)}-*.json"))]


def manifest_of(model_dir: Path) -> Manifest:
    """A converted model's manifest, as its type."""
    data = read(model_dir)
    assert data is not None, f"no manifest in {model_dir}"
    return data
