"""Run files under build/reports/: one JSON per run, `<kind>-<UTC time>.json`, top level with a `records` list,
rewritten atomically so an interrupted run keeps what it completed."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from converter import atomic_files
from converter.manifest import toolkit_version

DEFAULT_REPORTS = Path("build/reports")
# Every kind of run file the toolkit writes; new_run_path and write_run accept no other, and the report reads these.
RunKind = Literal[
    "latency", "parity", "accuracy", "overhead", "sweep", "gate", "farm-scaling", "graph-fixes", "host-profile"
]
RUN_KINDS: tuple[str, ...] = get_args(RunKind)


def utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def new_run_path(kind: RunKind, reports_dir: Path = DEFAULT_REPORTS) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp()
    path = reports_dir / f"{kind}-{stamp}.json"
    n = 1
    while path.exists():
        path = reports_dir / f"{kind}-{stamp}-{n}.json"
        n += 1
    return path


def write_run(path: Path, kind: RunKind, payload: dict[str, Any], records: list[dict[str, Any]]) -> None:
    atomic_files.write_json(
        path,
        {
            "kind": kind,
            "toolkit_version": toolkit_version(),
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **payload,
            "records": records,
        },
    )
