"""Run files under build/reports/: one JSON per run, `<kind>-<UTC time>.json`, written from and read into its type
(benchmark.records.runs), rewritten atomically so an interrupted run keeps what it completed."""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar, get_args

from pydantic import ValidationError

from benchmark.records.base import Record
from benchmark.records.runs import RUN_TYPES, SCHEMA_VERSION, LatencyRun, RunHeader, RunKind, record_type
from benchmark.records.types import LatencyRecord
from converter.artifacts.manifest import toolkit_version
from converter.base import atomic_files
from converter.base.errors import ToolkitError

DEFAULT_REPORTS = Path("build/reports")
RUN_KINDS: tuple[str, ...] = get_args(RunKind)
RunT = TypeVar("RunT", bound=RunHeader)


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


class RunFileError(ToolkitError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def finite(value: Any) -> Any:
    """The value with every NaN/inf replaced by None (JSON has no NaN; a bare NaN breaks other readers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def write_run(path: Path, run: RunHeader) -> None:
    """Write the run file atomically: its run-level figures and every record (a record's JSON holds the keys its
    producer set)."""
    if type(run) is not RUN_TYPES.get(run.kind):
        raise TypeError(f"{run.kind} run files are {RUN_TYPES[run.kind].__name__}, not {type(run).__name__}")
    records: list[Record] = list(getattr(run, "records", []))
    wanted = record_type(run.kind)
    for r in records:
        if not isinstance(r, wanted):
            raise TypeError(f"{run.kind} run files hold {wanted.__name__} records, not {type(r).__name__}")
    head = run.model_dump(mode="json", exclude={"records"})
    head.update(
        schema_version=SCHEMA_VERSION,
        toolkit_version=toolkit_version(),
        written_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    atomic_files.write_json(path, {**finite(head), "records": [finite(r.to_json()) for r in records]})


def read_run(path: Path) -> RunHeader:
    """A run file of any schema version this toolkit knows, as its type; records of an older version get today's
    key names. RunFileError names the file and the first problem."""
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
    kind = data["kind"]
    try:
        records = [record_type(kind).from_json(r, str(path)) for r in data["records"]]
        run = RUN_TYPES[kind].model_validate({**data, "schema_version": version, "records": records})
    except (ValidationError, AttributeError, TypeError) as e:
        raise RunFileError(path, f"not a {RUN_TYPES[kind].__name__}: {_first_problem(e)}") from None
    run.with_path(str(path))
    return run


def read_typed(path: Path, kind: type[RunT]) -> RunT | None:
    """The run file as `kind`, or None when it is a run file of another kind (RunFileError when it is none)."""
    run = read_run(path)
    return run if isinstance(run, kind) else None


def _first_problem(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    return str(e)


class RunFile(Generic[RunT]):
    """A run's JSON file, rewritten atomically after every completed record (thread-safe)."""

    def __init__(self, path: Path, run: RunT) -> None:
        self.path = path
        self.run = run
        self._lock = threading.Lock()
        write_run(path, run)

    @property
    def records(self) -> list[Any]:
        return list(getattr(self.run, "records", []))

    def add(self, record: Record) -> None:
        with self._lock:
            self.run.records.append(record)  # type: ignore[attr-defined]
            write_run(self.path, self.run)

    def set(self, **fields: Any) -> None:
        """Set run-level figures known only at the end (e.g. the run's wall time), validated as they are set."""
        with self._lock:
            self.run.set(**fields)
            write_run(self.path, self.run)


def read_latency_records(path: Path) -> list[LatencyRecord]:
    """The latency records of one run file; a file that is not a latency run file gives none."""
    try:
        run = read_typed(path, LatencyRun)
    except RunFileError:
        return []
    return list(run.records) if run else []
