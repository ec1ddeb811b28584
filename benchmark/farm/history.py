"""The benchmark history: every farm record in SQLite (stdlib sqlite3, WAL, so several farm runs can write at once),
keyed by device identity (ro.serialno + product model, not the adb connection serial), model, precision, input
shape and runner version. A run lists its records, including ones reused from earlier runs on resume."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.records.types import LatencyRecord, verdict_of
from converter import process
from converter.errors import ToolkitError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    host TEXT,
    pid INTEGER,
    farm_file TEXT,
    toolkit_version TEXT,
    payload_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    device_key TEXT NOT NULL,
    serialno TEXT,
    device_model TEXT,
    soc TEXT,
    adb_serial TEXT,
    model TEXT NOT NULL,
    precision TEXT NOT NULL,
    input_shape TEXT NOT NULL,
    runner_version TEXT,
    toolkit_version TEXT,
    nb_sha256 TEXT,
    status TEXT NOT NULL,
    median_ms REAL,
    cv REAL,
    parity_passed INTEGER,
    finished_at TEXT,
    record_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_records (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    record_id INTEGER NOT NULL REFERENCES records(id),
    reused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, record_id)
);
CREATE INDEX IF NOT EXISTS records_key ON records (device_key, model, precision, toolkit_version, nb_sha256, status);
"""


class HistoryError(ToolkitError):
    """The history database cannot be opened or does not hold what was asked for."""


def device_key(summary: dict[str, Any]) -> str:
    """Identity of a phone across hosts and connections: ro.serialno + product model."""
    serialno = str(summary.get("serialno") or summary.get("serial") or "unknown")
    return f"{serialno}/{summary.get('model') or 'unknown'}"


def shape_text(shape: list[int]) -> str:
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    finished_at: str | None
    status: str
    host: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise HistoryError(f"history database {path} cannot be opened: {e}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise HistoryError(f"history database {self.path}: {e}") from None

    def start_run(self, run_id: str, *, host: str, farm_file: str, toolkit: str, payload: dict[str, Any]) -> None:
        """Register a run; runs this host left 'running' whose process is gone become 'interrupted'."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise HistoryError(f"run {run_id!r} is already in the history {self.path}; pick another --run-name")
            for other, pid in db.execute("SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)):
                if pid and not process.pid_alive(int(pid)):
                    db.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", (other,))
            db.execute(
                "INSERT INTO runs (run_id, started_at, status, host, pid, farm_file, toolkit_version, payload_json) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (run_id, _now(), host, os.getpid(), farm_file, toolkit, json.dumps(payload)),
            )

    def finish_run(self, run_id: str, status: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ?", (_now(), status, run_id))

    def add_record(self, run_id: str, rec: LatencyRecord) -> int:
        values = (
            run_id,
            device_key(rec.device),
            rec.device.get("serialno"),
            rec.device.get("model"),
            rec.device.get("soc"),
            rec.device.get("serial"),
            rec.model,
            rec.precision,
            shape_text(rec.input_shape),
            rec.runner.version if rec.runner else None,
            (rec.tool_versions or {}).get("toolkit"),
            rec.nb.sha256 if rec.nb else None,
            rec.status,
            rec.median_ms,
            rec.cv,
            {"pass": 1, "fail": 0}.get(verdict_of(rec.parity) or ""),  # NULL: not judged
            rec.finished_at,
            json.dumps(rec.to_json()),
        )
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO records (run_id, device_key, serialno, device_model, soc, adb_serial, model, precision, "
                "input_shape, runner_version, toolkit_version, nb_sha256, status, median_ms, cv, parity_passed, "
                "finished_at, record_json) VALUES (" + ", ".join("?" * len(values)) + ")",
                values,
            )
            record_id = int(cur.lastrowid or 0)
            db.execute("INSERT INTO run_records (run_id, record_id, reused) VALUES (?, ?, 0)", (run_id, record_id))
        return record_id

    def reuse(self, run_id: str, record_id: int) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO run_records (run_id, record_id, reused) VALUES (?, ?, 1)", (run_id, record_id)
            )

    def find_complete(
        self, key: str, model: str, precision: str, toolkit: str, nb_sha256: str
    ) -> tuple[int, LatencyRecord] | None:
        """The newest finished ('ok') record for exactly this device, model, precision, toolkit and .nb bytes."""
        row = self._db.execute(
            "SELECT id, record_json FROM records WHERE device_key = ? AND model = ? AND precision = ? "
            "AND toolkit_version = ? AND nb_sha256 = ? AND status = 'ok' ORDER BY id DESC LIMIT 1",
            (key, model, precision, toolkit, nb_sha256),
        ).fetchone()
        return None if row is None else (int(row[0]), LatencyRecord.from_json(json.loads(row[1])))

    def runs(self) -> list[RunRow]:
        rows = self._db.execute(
            "SELECT run_id, started_at, finished_at, status, host FROM runs ORDER BY started_at, rowid"
        ).fetchall()
        return [RunRow(*r) for r in rows]

    def run(self, run_id: str) -> RunRow:
        for r in self.runs():
            if r.run_id == run_id:
                return r
        known = ", ".join(r.run_id for r in self.runs()[-5:]) or "none"
        raise HistoryError(f"run {run_id!r} is not in the history {self.path} (latest: {known})")

    def run_records(self, run_id: str) -> list[LatencyRecord]:
        rows = self._db.execute(
            "SELECT r.id, r.record_json, rr.reused FROM run_records rr JOIN records r ON r.id = rr.record_id "
            "WHERE rr.run_id = ? ORDER BY r.id",
            (run_id,),
        ).fetchall()
        return [
            LatencyRecord.from_json({**json.loads(j), "history_id": int(i), "reused": bool(reused)})
            for i, j, reused in rows
        ]

    def series(self) -> list[dict[str, Any]]:
        """Every ok record with its run's start time, for trend plots: oldest first."""
        rows = self._db.execute(
            "SELECT ru.started_at, ru.run_id, r.device_key, r.model, r.precision, r.median_ms "
            "FROM run_records rr JOIN records r ON r.id = rr.record_id JOIN runs ru ON ru.run_id = rr.run_id "
            "WHERE r.status = 'ok' ORDER BY ru.started_at, r.id"
        ).fetchall()
        keys = ("started_at", "run_id", "device_key", "model", "precision", "median_ms")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def open_existing(path: Path) -> History:
    """For readers (gate, report): a missing database is an error that says how to create it."""
    if not path.is_file():
        raise HistoryError(f"history database {path} does not exist; run `make bench-farm` (or pass --history PATH)")
    return History(path)
