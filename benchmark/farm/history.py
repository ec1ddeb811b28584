"""The benchmark history: every farm record, keyed by device identity (ro.serialno + product model, not the adb
connection serial), model, precision, input shape and runner version. A run lists its records, including ones
reused from earlier runs on resume. Stored in SQLite or on a PostgreSQL server (benchmark/farm/history_db.py):
several farm controllers, on one host or many, write to one history at once; each write is one transaction."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from benchmark.farm.history_db import (
    READ_ONLY,
    HistoryError,
    Location,
    connect,
    locate,
    records,
    run_records,
    runs,
)
from benchmark.records.parts import DeviceSummary, verdict_of
from benchmark.records.types import LatencyRecord
from converter.base import process

__all__ = ["History", "HistoryError", "RunRow", "device_key", "history_exists", "open_existing", "shape_text"]


def device_key(summary: DeviceSummary) -> str:
    """Identity of a phone across hosts and connections: ro.serialno + product model."""
    return summary.key


def shape_text(shape: list[int]) -> str:
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class TrendPoint:
    """One ok record of the history, for trend plots."""

    started_at: str
    run_id: str
    device_key: str
    model: str
    precision: str
    median_ms: float


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    finished_at: str | None
    status: str
    host: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def record_row(run_id: str, rec: LatencyRecord) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "device_key": rec.device.key,
        "serialno": rec.device.serialno,
        "device_model": rec.device.model,
        "soc": rec.device.soc,
        "adb_serial": rec.device.serial,
        "model": rec.model,
        "precision": rec.precision,
        "input_shape": shape_text(rec.input_shape),
        "runner_version": rec.runner.version if rec.runner else None,
        "toolkit_version": (rec.tool_versions or {}).get("toolkit"),
        "nb_sha256": rec.nb.sha256 if rec.nb else None,
        "status": rec.status,
        "median_ms": rec.median_ms,
        "cv": rec.cv,
        "parity_passed": {"pass": 1, "fail": 0}.get(verdict_of(rec.parity) or ""),  # NULL: not judged
        "finished_at": rec.finished_at,
        "record_json": json.dumps(rec.to_json()),
    }


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise HistoryError("the history database gave no id for an inserted record")
    return int(key[0])


class History:
    def __init__(self, location: str | Path, *, create: bool = True) -> None:
        self.location: Location = locate(location)
        self.path = self.location.label  # what messages name
        self._engine = connect(self.location, create=create)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        """One write transaction; a database error becomes a HistoryError naming the history."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except HistoryError:
            raise
        except SQLAlchemyError as e:
            raise HistoryError(f"history database {self.path}: {str(getattr(e, 'orig', e)).splitlines()[0]}") from None

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn.execution_options(**{READ_ONLY: True})
        except SQLAlchemyError as e:
            raise HistoryError(f"history database {self.path}: {str(getattr(e, 'orig', e)).splitlines()[0]}") from None

    def has_run(self, run_id: str) -> bool:
        with self._read() as conn:
            return conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is not None

    def start_run(self, run_id: str, *, host: str, farm_file: str, toolkit: str, payload: dict[str, Any]) -> None:
        """Register a run; runs this host left 'running' whose process is gone become 'interrupted'."""
        try:
            with self._tx() as conn:
                if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first():
                    raise HistoryError(f"run {run_id!r} is already in the history {self.path}; pick another --run-name")
                stale = conn.execute(
                    sa.select(runs.c.run_id, runs.c.pid).where(runs.c.status == "running", runs.c.host == host)
                ).all()
                for other, pid in stale:
                    if pid and not process.pid_alive(int(pid)):
                        conn.execute(runs.update().where(runs.c.run_id == other).values(status="interrupted"))
                conn.execute(
                    runs.insert().values(
                        run_id=run_id, started_at=_now(), status="running", host=host, pid=os.getpid(),
                        farm_file=farm_file, toolkit_version=toolkit, payload_json=json.dumps(payload),
                    )
                )  # fmt: skip
        except IntegrityError:  # another controller registered the same name between the check and the insert
            raise HistoryError(
                f"run {run_id!r} is already in the history {self.path}; pick another --run-name"
            ) from None

    def finish_run(self, run_id: str, status: str) -> None:
        with self._tx() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(finished_at=_now(), status=status))

    def add_record(self, run_id: str, rec: LatencyRecord) -> int:
        with self._tx() as conn:
            result = conn.execute(records.insert().values(**record_row(run_id, rec)))
            record_id = _new_id(result)
            conn.execute(run_records.insert().values(run_id=run_id, record_id=record_id, reused=0))
        return record_id

    def reuse(self, run_id: str, record_id: int) -> None:
        with self._tx() as conn:
            key = (run_records.c.run_id == run_id) & (run_records.c.record_id == record_id)
            if conn.execute(sa.select(run_records.c.record_id).where(key)).first() is None:
                conn.execute(run_records.insert().values(run_id=run_id, record_id=record_id, reused=1))

    def find_complete(
        self, key: str, model: str, precision: str, toolkit: str, nb_sha256: str
    ) -> tuple[int, LatencyRecord] | None:
        """The newest finished ('ok') record for exactly this device, model, precision, toolkit and .nb bytes."""
        query = (
            sa.select(records.c.id, records.c.record_json)
            .where(
                records.c.device_key == key, records.c.model == model, records.c.precision == precision,
                records.c.toolkit_version == toolkit, records.c.nb_sha256 == nb_sha256, records.c.status == "ok",
            )
            .order_by(records.c.id.desc())
            .limit(1)
        )  # fmt: skip
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (int(row[0]), LatencyRecord.from_json(json.loads(row[1])))

    def runs(self) -> list[RunRow]:
        query = sa.select(runs.c.run_id, runs.c.started_at, runs.c.finished_at, runs.c.status, runs.c.host)
        with self._read() as conn:
            rows = conn.execute(query.order_by(runs.c.started_at, runs.c.seq)).all()
        return [RunRow(*r) for r in rows]

    def run(self, run_id: str) -> RunRow:
        for r in self.runs():
            if r.run_id == run_id:
                return r
        known = ", ".join(r.run_id for r in self.runs()[-5:]) or "none"
        raise HistoryError(f"run {run_id!r} is not in the history {self.path} (latest: {known})")

    def run_payload(self, run_id: str) -> dict[str, Any]:
        """The run's own row: host, pid, farm file, toolkit version and payload (export)."""
        with self._read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise HistoryError(f"run {run_id!r} is not in the history {self.path}")
        return {k: v for k, v in row.items() if k != "seq"}

    def run_records(self, run_id: str) -> list[LatencyRecord]:
        query = (
            sa.select(records.c.id, records.c.record_json, run_records.c.reused)
            .select_from(run_records.join(records, records.c.id == run_records.c.record_id))
            .where(run_records.c.run_id == run_id)
            .order_by(records.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            LatencyRecord.from_json({**json.loads(j), "history_id": int(i), "reused": bool(reused)})
            for i, j, reused in rows
        ]

    def series(self) -> list[TrendPoint]:
        """Every ok record with its run's start time, for trend plots: oldest first."""
        cols = (runs.c.started_at, runs.c.run_id, records.c.device_key, records.c.model, records.c.precision,
                records.c.median_ms)  # fmt: skip
        query = (
            sa.select(*cols)
            .select_from(
                run_records.join(records, records.c.id == run_records.c.record_id).join(
                    runs, runs.c.run_id == run_records.c.run_id
                )
            )
            .where(records.c.status == "ok")
            .order_by(runs.c.started_at, records.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [TrendPoint(*row) for row in rows]

    def export_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Every run, record and membership, read in one transaction (a consistent copy while others write)."""
        with self._read() as conn, conn.begin():
            run_rows = conn.execute(sa.select(runs).order_by(runs.c.seq)).mappings().all()
            rec_rows = conn.execute(sa.select(records).order_by(records.c.id)).mappings().all()
            members = conn.execute(sa.select(run_records)).mappings().all()
        strip = [{k: v for k, v in r.items() if k != "seq"} for r in run_rows]
        return strip, [dict(r) for r in rec_rows], [dict(m) for m in members]

    def import_run(
        self,
        run: dict[str, Any],
        recs: list[tuple[int, LatencyRecord]],
        members: list[tuple[int, bool]],
        id_map: dict[int, int],
    ) -> tuple[bool, int, int]:
        """One run into this history in one transaction: (added, records added, memberships left out). A run that is
        already here is left as it is (imports are idempotent); `id_map` maps the source's record ids to ours."""
        with self._tx() as conn:
            if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run["run_id"])).first():
                return False, 0, 0
            conn.execute(runs.insert().values(**run))
            for old_id, rec in recs:
                result = conn.execute(records.insert().values(**record_row(run["run_id"], rec)))
                id_map[old_id] = _new_id(result)
            missing = 0
            for old_id, reused in members:
                if old_id not in id_map:
                    missing += 1
                    continue
                conn.execute(
                    run_records.insert().values(run_id=run["run_id"], record_id=id_map[old_id], reused=int(reused))
                )
        return True, len(recs), missing

    def add_missing(self, run_id: str, recs: list[LatencyRecord]) -> int:
        """Records of a run file that this run does not hold yet (same device, model, variant and finish time)."""
        have = {(r.device.key, r.model, r.precision, r.finished_at) for r in self.run_records(run_id)}
        added = 0
        for rec in recs:
            if (rec.device.key, rec.model, rec.precision, rec.finished_at) not in have:
                self.add_record(run_id, rec)
                added += 1
        return added


def history_exists(location: str | Path) -> bool:
    """A history file that exists, or any server URL (whether it answers is for opening to say)."""
    loc = locate(location)
    return loc.sqlite_path is None or loc.sqlite_path.is_file()


def open_existing(location: str | Path) -> History:
    """For readers (gate, report): a history that does not exist yet is an error that says how to create it."""
    return History(location, create=False)
