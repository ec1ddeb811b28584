"""The farm history on both back ends (SQLite and a real PostgreSQL server started for the session): the same API,
two controllers writing at once (processes, and two real farm runs on different device sets), the schema-1 SQLite
migration with its backup, export-all / import between back ends, a farm run file re-imported after a lost server,
and bad input (unreachable server, wrong password, another schema): one line, exit 2, nothing written."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from benchmark.cli import main
from benchmark.farm.history import History, HistoryError, open_existing
from benchmark.records.run_files import write_run
from benchmark.records.runs import FarmRunInfo, GateRun, LatencyRun
from benchmark.records.types import LatencyRecord
from tests.conftest import closed_port_url
from tests.farm_support import farm_argv, spawn_farm, write_farm
from tests.runs import read_as

REPO = Path(__file__).resolve().parents[1]
DEVICE = {"serial": "emulator-5554", "serialno": "SER1", "model": "MI 9", "soc": "SM8150"}


def _rec(model: str, ms: float, device: dict[str, str] = DEVICE, **extra: Any) -> LatencyRecord:
    return LatencyRecord.from_json(
        {
            "model": model, "precision": "fp32", "input_shape": [1, 3, 192, 192], "device": device, "status": "ok",
            "median_ms": ms, "cv": 0.01, "tool_versions": {"toolkit": "0.1.0"},
            "nb": {"path": "m.nb", "opt_version": "v2.13-rc", "size_bytes": 10, "sha256": "ab" * 32},
            "finished_at": f"2026-12-04T00:00:{int(ms) % 60:02d}+00:00", **extra,
        }
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return str(request.getfixturevalue("pg_server").new_database())


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    return rc, cap.out, cap.err


def test_the_same_history_api_on_both_back_ends(history_url: str) -> None:
    with History(history_url) as h:
        h.start_run("r1", host="h", farm_file="farm.yaml", toolkit="0.1.0", payload={"k": 1})
        first = h.add_record("r1", _rec("a", 10.0))
        h.add_record("r1", _rec("b", 20.0))
        h.finish_run("r1", "finished")
        h.start_run("r2", host="h", farm_file="farm.yaml", toolkit="0.1.0", payload={})
        h.reuse("r2", first)
        h.reuse("r2", first)  # twice: one membership
        h.finish_run("r2", "finished")
        with pytest.raises(HistoryError, match="already in the history"):
            h.start_run("r1", host="h", farm_file="f", toolkit="t", payload={})
    with open_existing(history_url) as h:
        assert [r.run_id for r in h.runs()] == ["r1", "r2"] and h.run("r2").status == "finished"
        assert [(r.model, r.reused) for r in h.run_records("r2")] == [("a", True)]
        found = h.find_complete("SER1/MI 9", "a", "fp32", "0.1.0", "ab" * 32)
        assert found is not None and found[0] == first and found[1].median_ms == 10.0
        assert [s.model for s in h.series()] == ["a", "b", "a"]


WRITER = """
import sys
from benchmark.farm.history import History
from tests.test_history_db import _rec
url, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with History(url) as h:
    h.start_run(run, host=run, farm_file="f", toolkit="0.1.0", payload={})
    for i in range(n):
        h.add_record(run, _rec(f"m{i}", 10.0 + i, device={**{"serialno": run, "model": "M"}}))
    h.finish_run(run, "finished")
"""


def test_two_writers_at_once_lose_and_duplicate_nothing(history_url: str) -> None:
    with History(history_url):
        pass  # the schema exists before the race (creating it is the first writer's job, tested above)
    n = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, history_url, run, str(n)], cwd=REPO, stderr=subprocess.PIPE)
        for run in ("ctl-a", "ctl-b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    with open_existing(history_url) as h:
        assert sorted((r.run_id, r.status) for r in h.runs()) == [("ctl-a", "finished"), ("ctl-b", "finished")]
        a, b = h.run_records("ctl-a"), h.run_records("ctl-b")
        assert len(a) == len(b) == n and {r.model for r in a} == {f"m{i}" for i in range(n)}
        ids = [r.history_id for r in a + b]
        assert len(set(ids)) == 2 * n  # unique ids, no record in both runs


def test_on_sqlite_a_reader_is_never_held_up_by_a_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WAL: opening the history and reading it take no write lock, so a controller in the middle of a write
    transaction does not make another's gate or resume wait (they read the last committed state)."""
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        h.start_run("r1", host="h", farm_file="f", toolkit="0.1.0", payload={})
        h.add_record("r1", _rec("a", 10.0))
        h.finish_run("r1", "finished")
    monkeypatch.setattr("benchmark.farm.history_db.SQLITE_BUSY_TIMEOUT_S", 0.2)  # a write lock would fail at once
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = 'r1'")
        with open_existing(path) as h:
            assert h.run("r1").status == "finished" and len(h.run_records("r1")) == 1
            assert len(h.export_rows()[1]) == 1
            with pytest.raises(HistoryError, match="locked"):  # a write still waits for the writer, then says so
                h.start_run("r2", host="h", farm_file="f", toolkit="0.1.0", payload={})
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.slow
def test_two_farm_controllers_share_one_history(lab, emulated, models_dir, bench_out, tmp_path, history_url) -> None:  # type: ignore[no-untyped-def]
    """Two `bench-farm` runs on different device sets at once, one history: both runs complete and intact."""
    for n in (1, 2):
        emulated(props={"ro.serialno": f"TEAM{n}"}, runner={"fixed_latency_ms": 20})
    procs = []
    for n in (1, 2):
        folder = tmp_path / f"host{n}"
        folder.mkdir()
        farm = write_farm(folder, [str(lab.server)], select={"serial": [f"TEAM{n}"]}, history=history_url)
        argv = farm_argv(farm, models_dir, bench_out, folder / "reports", "--force", "--run-name", f"team-{n}")
        procs.append((spawn_farm(argv, folder / "farm.log"), folder / "farm.log"))
    for p, log in procs:
        assert p.wait(timeout=600) == 0, log.read_text()[-3000:]
    with open_existing(history_url) as h:
        runs = {r.run_id: r for r in h.runs()}
        assert {k: v.status for k, v in runs.items()} == {"team-1": "finished", "team-2": "finished"}
        for n in (1, 2):
            recs = h.run_records(f"team-{n}")
            assert len(recs) == 2 and {r.device.serialno for r in recs} == {f"TEAM{n}"}
            assert all(r.status == "ok" and r.median_ms for r in recs)
    rc = main(["gate", "--history", history_url, "--run", "team-2", "--baseline", "team-1",
               "--farm", str(tmp_path / "none.yaml"), "--reports", str(tmp_path / "gate"),
               "--junit", str(tmp_path / "junit.xml")])  # fmt: skip
    gate = read_as(next((tmp_path / "gate").glob("gate-*.json")), GateRun)
    # the gate read both runs whole from the shared history: team-1's records as the baseline, team-2's as new
    # (different phones, so the baseline's are "missing" and the gate fails, as it should)
    assert rc == 1 and (gate.baseline, gate.current) == ("team-1", "team-2")
    rows = {(r.device_key.split("/")[0], r.verdict) for r in gate.records}
    assert rows == {("TEAM1", "fail"), ("TEAM2", "new")} and len(gate.records) == 4


SCHEMA_1 = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    host TEXT, pid INTEGER, farm_file TEXT, toolkit_version TEXT, payload_json TEXT NOT NULL DEFAULT '{}');
CREATE TABLE records (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs(run_id),
    device_key TEXT NOT NULL, serialno TEXT, device_model TEXT, soc TEXT, adb_serial TEXT, model TEXT NOT NULL,
    precision TEXT NOT NULL, input_shape TEXT NOT NULL, runner_version TEXT, toolkit_version TEXT, nb_sha256 TEXT,
    status TEXT NOT NULL, median_ms REAL, cv REAL, parity_passed INTEGER, finished_at TEXT, record_json TEXT NOT NULL);
CREATE TABLE run_records (run_id TEXT NOT NULL REFERENCES runs(run_id), record_id INTEGER NOT NULL
    REFERENCES records(id), reused INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, record_id));
"""


def _schema1(path: Path) -> None:
    """A history as the toolkit wrote it before the schema was versioned (stdlib sqlite3, hand-written SQL)."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_1)
        for run_id in ("zeta", "alpha"):  # same second: insertion order decides, not the name
            db.execute("INSERT INTO runs VALUES (?, '2026-01-01T00:00:00', NULL, 'finished', 'h', 1, 'f', 't', '{}')",
                       (run_id,))  # fmt: skip
        rec = _rec("a", 12.5)
        db.execute(
            "INSERT INTO records (run_id, device_key, model, precision, input_shape, status, median_ms, record_json) "
            "VALUES ('zeta', 'SER1/MI 9', 'a', 'fp32', '1x3x192x192', 'ok', 12.5, ?)", (json.dumps(rec.to_json()),)
        )  # fmt: skip
        db.execute("INSERT INTO run_records VALUES ('zeta', 1, 0)")


def test_a_schema1_history_is_migrated_in_place_after_a_backup(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "history.sqlite"
    _schema1(path)
    rc, _, err = _cli(capsys, "history", "runs", "--history", str(path))  # a reader does not migrate
    assert rc == 2 and err.count("\n") == 1 and "schema-1 format" in err
    with History(path) as h:  # a writer migrates
        assert [r.run_id for r in h.runs()] == ["zeta", "alpha"]  # the old insertion order is kept
        assert [r.median_ms for r in h.run_records("zeta")] == [12.5]
        h.start_run("after", host="h", farm_file="f", toolkit="t", payload={})
    (backup,) = tmp_path.glob("history.sqlite.schema1-*.bak")
    with sqlite3.connect(backup) as db:  # the backup is the untouched schema-1 file
        assert "schema_meta" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    rc, out, _ = _cli(capsys, "history", "runs", "--history", f"sqlite:///{path}")
    assert rc == 0 and out.index("zeta") < out.index("alpha") < out.index("after")


def test_export_all_and_import_between_back_ends(tmp_path: Path, pg_server, capsys) -> None:  # type: ignore[no-untyped-def]
    laptop = tmp_path / "laptop.sqlite"
    with History(laptop) as h:
        for run in ("r1", "r2"):
            h.start_run(run, host="laptop", farm_file="f", toolkit="0.1.0", payload={"run": run})
            rid = h.add_record(run, _rec(f"{run}-model", 11.0))
            h.finish_run(run, "finished")
        h.start_run("r3", host="laptop", farm_file="f", toolkit="0.1.0", payload={})
        h.reuse("r3", rid)
        h.finish_run("r3", "finished")
    dump = tmp_path / "history.json"
    rc, out, _ = _cli(capsys, "history", "export-all", "--history", str(laptop), "-o", str(dump))
    assert rc == 0 and "3 run(s), 2 record(s)" in out
    server = pg_server.new_database()
    rc, out, _ = _cli(capsys, "history", "import", str(dump), "--history", server)
    assert rc == 0 and "3 run(s) added (2 record(s))" in out
    rc, out, _ = _cli(capsys, "history", "import", str(dump), "--history", server)
    assert rc == 0 and "0 run(s) added" in out and "3 already there" in out  # idempotent
    with open_existing(laptop) as a, open_existing(server) as b:
        assert [r.run_id for r in a.runs()] == [r.run_id for r in b.runs()]
        for run in ("r1", "r2", "r3"):
            mine = [(r.model, r.median_ms, r.reused) for r in a.run_records(run)]
            assert mine == [(r.model, r.median_ms, r.reused) for r in b.run_records(run)]
    rc, _, err = _cli(capsys, "history", "import", str(laptop), "--history", server)
    assert rc == 2 and err.count("\n") == 1 and "cannot be read as an export-all file" in err


def test_a_run_file_is_reimported_after_a_lost_server(tmp_path: Path, history_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A farm run whose history went away mid-run kept every record in its run file; importing it completes the
    run in the history (and importing it again adds nothing)."""
    recs = [_rec("a", 10.0, farm_run_id="lost-1"), _rec("b", 11.0, farm_run_id="lost-1")]
    with History(history_url) as h:  # the server took the first record, then went away
        h.start_run("lost-1", host="h", farm_file="f", toolkit="0.1.0", payload={})
        h.add_record("lost-1", recs[0])
    run_file = tmp_path / "latency-lost.json"
    write_run(run_file, LatencyRun(farm=FarmRunInfo(run_id="lost-1"), records=recs))
    rc, out, _ = _cli(capsys, "history", "import", "--run-file", str(run_file), "--history", history_url)
    assert rc == 0 and "1 record(s)" in out
    rc, out, _ = _cli(capsys, "history", "import", "--run-file", str(run_file), "--history", history_url)
    assert rc == 0 and "0 record(s)" in out
    with open_existing(history_url) as h:
        assert sorted(r.model for r in h.run_records("lost-1")) == ["a", "b"]


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_bad_databases_are_one_line_and_exit_2_with_nothing_written(tmp_path: Path, pg_server, capsys) -> None:  # type: ignore[no-untyped-def]
    port = closed_port_url().rsplit(":", 1)[1]
    rc, _, err = _cli(capsys, "history", "runs", "--history", f"postgresql://farm:x@127.0.0.1:{port}/none")
    assert rc == 2 and err.count("\n") == 1 and "cannot be opened" in err and ":x@" not in err
    db = pg_server.new_database()
    wrong = db.replace(f":{pg_server.password}@", ":wrong@")
    rc, _, err = _cli(capsys, "history", "import", "--run-file", str(tmp_path / "none.json"), "--history", wrong)
    assert rc == 2 and err.count("\n") == 1  # the run file is checked first: nothing is opened or written
    write_run(tmp_path / "r.json", LatencyRun(farm=FarmRunInfo(run_id="x"), records=[_rec("a", 1.0)]))
    rc, _, err = _cli(capsys, "history", "import", "--run-file", str(tmp_path / "r.json"), "--history", wrong)
    assert rc == 2 and err.count("\n") == 1 and "password authentication failed" in err
    assert _tables(db) == set()  # nothing written
    other = pg_server.new_database()
    engine = sa.create_engine(other.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)")
    engine.dispose()
    rc, _, err = _cli(capsys, "history", "import", "--run-file", str(tmp_path / "r.json"), "--history", other)
    assert rc == 2 and err.count("\n") == 1 and "another schema" in err
    assert _tables(other) == {"runs"}
    rc, _, err = _cli(capsys, "history", "runs", "--history", "mysql://u@h/db")
    assert rc == 2 and "not supported" in err
    rc, _, err = _cli(capsys, "history", "runs", "--history", pg_server.new_database())
    assert rc == 2 and "holds no farm history yet" in err
