"""Resume: a farm run killed mid-way is continued by the next run, which reuses what the history holds for the same
device, model, precision, toolkit version and .nb bytes, and measures the rest; --force measures everything."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from tests.farm_support import farm_argv, records, run_farm, spawn_farm, write_farm

pytestmark = pytest.mark.slow


def _ok_records(db_path) -> int:  # type: ignore[no-untyped-def]
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM records WHERE status = 'ok'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_interrupted_run_resumes(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    emulated(props={"ro.serialno": "RESUME1"}, runner={"fixed_latency_ms": 150})
    farm = write_farm(tmp_path, [str(lab.server)], select={"serial": ["RESUME1"]})
    killed = spawn_farm(
        farm_argv(farm, models_dir, bench_out, tmp_path / "r1", "--run-name", "killed"), tmp_path / "1.log"
    )
    deadline = time.monotonic() + 300
    while _ok_records(tmp_path / "history.sqlite") < 1:
        assert killed.poll() is None and time.monotonic() < deadline, (tmp_path / "1.log").read_text()
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)  # no clean-up at all: its lock and work dir stay on the device
    killed.wait(timeout=30)

    rc, out, err = run_farm(capsys, farm_argv(farm, models_dir, bench_out, tmp_path / "r2", "--run-name", "resumed"))
    assert rc == 0, err
    first, second = records(tmp_path / "r2")
    assert first.reused_from_run == "killed" and first.status == "ok"
    assert second.status == "ok" and second.reused_from_run is None and second.farm_run_id == "resumed"
    assert "already measured in run killed: reused" in err
    assert "1 ok, 1 reused" in out

    rc, out, _ = run_farm(
        capsys, farm_argv(farm, models_dir, bench_out, tmp_path / "r3", "--force", "--run-name", "forced")
    )
    assert rc == 0
    assert [r.reused_from_run for r in records(tmp_path / "r3")] == [None, None]
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        runs = dict(db.execute("SELECT run_id, status FROM runs").fetchall())
        members = db.execute("SELECT run_id, COUNT(*), SUM(reused) FROM run_records GROUP BY run_id").fetchall()
    assert runs["killed"] == "interrupted" and runs["resumed"] == runs["forced"] == "finished"
    assert sorted(members) == [("forced", 2, 0), ("killed", 1, 0), ("resumed", 2, 1)]
