"""Moving a farm history between back ends (a laptop's SQLite to a team's PostgreSQL server, and back): export-all
writes every run, record and membership as one JSON file; import adds the runs the target does not hold yet (a run
it holds is kept as it is, so an import can be repeated). A farm run file can be imported too: the records a history
server lost mid-run missed go in then."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.farm.history import History, HistoryError
from benchmark.farm.history_db import SCHEMA_VERSION
from benchmark.records.run_files import RunFileError, read_run
from benchmark.records.runs import LatencyRun
from benchmark.records.types import LatencyRecord
from converter.base import atomic_files
from converter.base.errors import UsageError

FORMAT = "pp-lite-toolkit farm history export"
RUN_KEYS = ("run_id", "started_at", "finished_at", "status", "host", "pid", "farm_file", "toolkit_version",
            "payload_json")  # fmt: skip


@dataclass
class ImportData:
    source: str
    runs: list[dict[str, Any]]  # each: {"run": row, "members": [[record_id, reused]]}
    records: dict[int, tuple[str, LatencyRecord]]  # source record id -> (its run, the record)
    run_file_run: str | None = None  # a farm run file: the run its records belong to


@dataclass
class ImportSummary:
    added: int = 0
    kept: int = 0
    records: int = 0
    left_out: int = 0

    def __str__(self) -> str:
        out = f"{self.added} run(s) added ({self.records} record(s)), {self.kept} already there and kept"
        return out + (
            f"; {self.left_out} reused-record link(s) left out (their run is not here)" if self.left_out else ""
        )


def export_all(history: History, path: Path) -> tuple[int, int]:
    run_rows, rec_rows, members = history.export_rows()
    by_run: dict[str, list[list[Any]]] = {}
    for m in members:
        by_run.setdefault(m["run_id"], []).append([m["record_id"], bool(m["reused"])])
    data = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": history.path,
        "runs": [{"run": r, "members": by_run.get(r["run_id"], [])} for r in run_rows],
        "records": [{"id": r["id"], "run_id": r["run_id"], "record": json.loads(r["record_json"])} for r in rec_rows],
    }
    atomic_files.write_text(path, json.dumps(data, indent=1))
    return len(run_rows), len(rec_rows)


def read_import(path: Path, *, run_file: bool) -> ImportData:
    """Read and check the whole file before anything is written; UsageError naming the file otherwise."""
    if run_file:
        try:
            data = read_run(path)
        except RunFileError as e:
            raise UsageError(str(e)) from None
        run_id = data.farm.run_id if isinstance(data, LatencyRun) and data.farm else None
        if not isinstance(data, LatencyRun) or not run_id:
            raise UsageError(f"{path}: not a farm run file (no farm.run_id); import an export-all file instead")
        measured = [r for r in data.records if not r.reused]
        return ImportData(str(path), [], {i: (run_id, r) for i, r in enumerate(measured)}, run_file_run=run_id)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot be read as an export-all file ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UsageError(f"{path}: not a farm history export (make history-export writes one)")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path}: export schema {raw.get('schema_version')}, this toolkit reads {SCHEMA_VERSION}")
    try:
        recs = {int(r["id"]): (str(r["run_id"]), LatencyRecord.from_json(r["record"])) for r in raw["records"]}
        runs = [{"run": {k: r["run"].get(k) for k in RUN_KEYS}, "members": r["members"]} for r in raw["runs"]]
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: a run or record is malformed ({e})") from None
    return ImportData(str(path), runs, recs)


def import_runs(history: History, data: ImportData) -> ImportSummary:
    summary = ImportSummary()
    if data.run_file_run is not None:
        recs = [rec for _, rec in data.records.values()]
        if not history.has_run(data.run_file_run):
            started = min((r.started_at or "" for r in recs), default="")
            payload = json.dumps({"imported_from": data.source})
            run = {"run_id": data.run_file_run, "started_at": started, "status": "imported", "payload_json": payload}
            history.import_run(run, [], [], {})
            summary.added += 1
        else:
            summary.kept += 1
        summary.records = history.add_missing(data.run_file_run, recs)
        return summary
    id_map: dict[int, int] = {}
    for entry in data.runs:
        run = entry["run"]
        own = [(i, rec) for i, (origin, rec) in data.records.items() if origin == run["run_id"]]
        members = [(int(i), bool(reused)) for i, reused in entry["members"]]
        try:
            added, n, missing = history.import_run(run, own, members, id_map)
        except HistoryError as e:
            raise HistoryError(f"importing run {run['run_id']} from {data.source}: {e}") from None
        summary.added += added
        summary.kept += not added
        summary.records += n
        summary.left_out += missing
    return summary
