"""Fast unit tests of the farm's scheduling on in-memory devices (tests/fake_device.py): every device in parallel,
resume from the history, a device that disconnects mid-run, the device lock held by a live run or left stale, a
history lost mid-run; each on both history back ends (SQLite, PostgreSQL). The same code runs against the real
adb server and emulated devices in test_farm*.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmark.device.adb import AdbServer
from benchmark.device.session import ModelJob
from benchmark.farm.config import DeviceSettings, FarmConfig, LockSettings, Measurement, Parity
from benchmark.farm.discovery import Discovery, FarmDevice
from benchmark.farm.history import History, HistoryError, device_key
from benchmark.farm.lock import LOCK_NAME, PREFIX
from benchmark.farm.run import FarmRun, run_farm
from benchmark.records.run_files import RunFile, read_run
from benchmark.records.runs import LatencyRun
from converter.schema.zoo import load_zoo
from tests.fake_device import PROPS, FakeDevice, tiny_nb

SERVER = AdbServer("127.0.0.1", 5037)  # never contacted: every worker gets its fake device


@pytest.fixture
def jobs(tmp_path: Path) -> list[ModelJob]:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "arm-fp32.nb").write_bytes(tiny_nb())
    return [ModelJob("m", folder, [1, 3, 8, 8], 15.86, "fp32"), ModelJob("m2", folder, [1, 3, 8, 8], None, "fp32")]


def _fake(serial: str, **kw: object) -> FakeDevice:
    return FakeDevice(serial=serial, props={**PROPS, "ro.serialno": serial.upper()}, **kw)  # type: ignore[arg-type]


class Farm:
    """One farm run over fake devices, sharing a history file across runs like the real farm."""

    def __init__(self, tmp: Path, jobs: list[ModelJob], runner: Path, history: str) -> None:
        self.tmp, self.jobs, self.runner, self.n = tmp, jobs, runner, 0
        self.cfg = FarmConfig(
            servers=[f"{SERVER.host}:{SERVER.port}"],
            runner=runner,
            parity=Parity(enabled=False),
            measurement=Measurement(rounds=2, repeats=1, warmup=0),
            lock=LockSettings(wait_s=0.3, poll_s=0.05, stale_after_s=600),
        )
        self.history = History(history)

    def run(self, fakes: list[FakeDevice], *, force: bool = False) -> tuple[FarmRun, list]:  # type: ignore[type-arg]
        self.n += 1
        run_id = f"run-{self.n}"
        self.history.start_run(run_id, host="h", farm_file="farm.yaml", toolkit="t", payload={})
        by_serial = {f.serial: f for f in fakes}
        found = Discovery(
            [
                FarmDevice(
                    SERVER, f.serial, f.info(), device_key(f.info().summary()), DeviceSettings(runner=self.runner)
                )
                for f in fakes
            ]
        )
        run = FarmRun(
            self.cfg, load_zoo(), self.jobs, run_id, RunFile(self.tmp / f"latency-{self.n}.json", LatencyRun()),
            self.history,
            None, self.tmp / "artifacts", force=force, open_device=lambda fd: by_serial[fd.serial],
        )  # fmt: skip
        outcomes = run_farm(found, run)
        self.history.finish_run(run_id, "finished")
        return run, outcomes


@pytest.fixture(params=["sqlite", "postgresql"])
def farm(request: pytest.FixtureRequest, tmp_path: Path, jobs: list[ModelJob]) -> Farm:
    """The same farm logic over both history back ends (PostgreSQL: the session's server, tests/postgres_server.py)."""
    runner = tmp_path / "benchmark_bin"
    runner.write_text("#!/bin/sh\n")
    history = str(tmp_path / "history.sqlite")
    if request.param == "postgresql":
        history = request.getfixturevalue("pg_server").new_database()
    return Farm(tmp_path, jobs, runner, history)


def test_every_device_runs_every_job_and_the_lock_is_released(farm: Farm) -> None:
    a, b = _fake("dev-a", round_ms=[10.0, 12.0]), _fake("dev-b", round_ms=[20.0])
    _, outcomes = farm.run([a, b])
    assert {o.serial: [r.status for r in o.records] for o in outcomes} == {
        "dev-a": ["ok", "ok"],
        "dev-b": ["ok", "ok"],
    }
    rec = outcomes[0].records[0]
    assert rec.farm_run_id == "run-1" and (rec.device_key or "").startswith("DEV-A")
    assert rec.lock is not None and rec.lock.waited_s == 0
    assert outcomes[1].records[0].median_ms == 20.0
    assert not a.links and not b.links  # released after the run
    assert len(farm.history.run_records("run-1")) == 4


def test_a_second_run_resumes_from_the_history(farm: Farm) -> None:
    first = _fake("dev-a")
    farm.run([first])
    again = _fake("dev-a")
    _, (outcome,) = farm.run([again])
    assert all(r.reused_from_run == "run-1" for r in outcome.records) and again.rounds == []  # nothing re-measured
    forced = _fake("dev-a")
    _, (outcome,) = farm.run([forced], force=True)
    assert all(r.reused_from_run is None for r in outcome.records) and len(forced.rounds) > 0


def test_a_device_that_disconnects_loses_only_its_remaining_jobs(farm: Farm) -> None:
    gone, fine = _fake("dev-a", gone_after_rounds=1), _fake("dev-b")
    _, outcomes = farm.run([gone, fine])
    by = {o.serial: o for o in outcomes}
    assert [r.status for r in by["dev-a"].records] == ["failed", "not_run"]
    assert "its remaining jobs were not run" in (by["dev-a"].records[1].error or "")
    assert type(by["dev-a"].error).__name__ == "DeviceGone"
    assert [r.status for r in by["dev-b"].records] == ["ok", "ok"] and by["dev-b"].error is None


def test_a_device_held_by_a_live_run_is_busy_and_a_stale_lock_is_broken(farm: Farm) -> None:
    path = f"/data/local/tmp/{LOCK_NAME}"
    held = _fake("dev-a")
    held.links[path] = f"{PREFIX}:other-host:4242:{held.clock_s - 10}:tok"  # another host's live run, 10 s old
    _, (outcome,) = farm.run([held])
    assert [r.status for r in outcome.records] == ["not_run", "not_run"] and held.rounds == []
    assert "busy" in (outcome.records[0].error or "") and "other-host PID 4242" in (outcome.records[0].error or "")
    assert held.links[path].startswith(f"{PREFIX}:other-host")  # someone else's lock is never removed

    stale = _fake("dev-b")
    stale.links[path] = f"{PREFIX}:other-host:4242:{stale.clock_s - 3600}:tok"  # older than stale_after_s
    _, (outcome,) = farm.run([stale])
    assert [r.status for r in outcome.records] == ["ok", "ok"] and not stale.links


def test_a_history_lost_mid_run_loses_no_record(farm: Farm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history refuses writes after the first record (its server went away): the devices go on, every record
    is in the run file, and the run says what the history missed."""
    real = farm.history.add_record
    calls: list[int] = []

    def flaky(run_id: str, rec: Any) -> int:
        calls.append(1)
        if len(calls) > 1:
            raise HistoryError("history postgresql+psycopg://farm:***@db/farm: server closed the connection")
        return real(run_id, rec)

    monkeypatch.setattr(farm.history, "add_record", flaky)
    run, (outcome,) = farm.run([_fake("dev-a")])
    assert [r.status for r in outcome.records] == ["ok", "ok"]
    saved = read_run(run.run_file.path).records  # type: ignore[attr-defined]
    assert len(saved) == 2 and len(run.history_errors) == 1 and "server closed" in run.history_errors[0]
    assert len(farm.history.run_records("run-1")) == 1  # what the server took before it went away
