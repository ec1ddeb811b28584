"""Run files under build/reports/: one JSON per run, `<kind>-<UTC time>.json`, top level with a `records` list,
rewritten atomically so an interrupted run keeps what it completed."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import ValidationError

from benchmark.records.base import Record
from benchmark.records.types import RECORD_TYPES, LatencyRecord
from converter import atomic_files
from converter.errors import ToolkitError
from converter.manifest import toolkit_version

DEFAULT_REPORTS = Path("build/reports")
# Every kind of run file the toolkit writes; new_run_path and write_run accept no other, and the report reads these.
RunKind = Literal[
    "latency",
    "parity",
    "accuracy",
    "overhead",
    "sweep",
    "gate",
    "farm-scaling",
    "graph-fixes",
    "host-profile",
    "int8-study",
    "layer-diff",
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


SCHEMA_VERSION = 2  # 2: records validated against benchmark.records.types; files without the key are version 1


class RunFileError(ToolkitError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def finite(value: Any) -> Any:
    """The value with every NaN/inf replaced by None (JSON has no NaN; a bare NaN breaks other readers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write_run(path: Path, kind: RunKind, payload: dict[str, Any], records: Sequence[Record | dict[str, Any]]) -> None:
    """Write the run file atomically. The kinds with a record type (latency, sweep, parity, accuracy, int8-study)
    take their records as that type; the other kinds' rows are plain JSON."""
    record_type = RECORD_TYPES.get(kind)
    checked: list[Any] = []
    for r in records:
        if record_type is not None and not isinstance(r, record_type):
            raise TypeError(f"{kind} run files hold {record_type.__name__} records, not {type(r).__name__}")
        checked.append(finite(r.to_json() if isinstance(r, Record) else r))
    atomic_files.write_json(
        path,
        {
            "kind": kind,
            "schema_version": SCHEMA_VERSION,
            "toolkit_version": toolkit_version(),
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **finite(payload),
            "records": checked,
        },
    )


def read_run(path: Path) -> dict[str, Any]:
    """A run file of any schema version this toolkit knows, its records as their types (benchmark.records.types) for
    the kinds that have one; records of an older version get today's key names."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RunFileError(path, f"not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("kind") not in RUN_KINDS or not isinstance(data.get("records"), list):
        raise RunFileError(path, "not a toolkit run file (no known 'kind' with a 'records' list)")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise RunFileError(
            path, f"schema version {version} is newer than this toolkit's ({SCHEMA_VERSION}): update the toolkit"
        )
    record_type = RECORD_TYPES.get(data["kind"])
    if record_type is not None:  # records as their type (old key names mapped); a foreign record refuses the file
        try:
            data["records"] = [record_type.from_json(r, str(path)) for r in data["records"]]
        except (ValidationError, AttributeError) as e:
            raise RunFileError(path, f"a record is not a {record_type.__name__}: {_first_problem(e)}") from None
    return data


def _first_problem(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    return str(e)


class RunFile:
    """The run's JSON file, rewritten atomically after every completed record (thread-safe)."""

    def __init__(self, path: Path, payload: dict[str, Any], kind: RunKind = "latency") -> None:
        self.path = path
        self.kind: RunKind = kind
        self.payload = payload
        self.records: list[Record] = []
        self._lock = threading.Lock()
        write_run(path, self.kind, payload, self.records)

    def add(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)
            write_run(self.path, self.kind, self.payload, self.records)

    def set(self, key: str, value: Any) -> None:
        """Add a top-level figure known only at the end (e.g. the run's wall time)."""
        with self._lock:
            self.payload[key] = value
            write_run(self.path, self.kind, self.payload, self.records)


def read_latency_records(path: Path) -> list[LatencyRecord]:
    """The latency records of one run file; a file that is not a latency run file gives none."""
    try:
        data = read_run(path)
    except RunFileError:
        return []
    return list(data["records"]) if data.get("kind") == "latency" else []
