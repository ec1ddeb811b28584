"""The farm over two real adb servers with emulated devices: discovery, `adb connect`, de-duplication by
ro.serialno, selectors, an unauthorized device, a device unplugged halfway, parity, history."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.records.runs import LatencyRun
from tests.conftest import HUMAN_V1, PORTRAIT_V1, PORTRAIT_V2
from tests.farm_support import by_key, farm_argv, records, run_farm, write_farm
from tests.runs import read_as

pytestmark = pytest.mark.slow
THREE = f"{PORTRAIT_V2},{HUMAN_V1},{PORTRAIT_V1}"


@pytest.fixture(scope="module")
def farm_out(bench_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The harness's converted models plus room for a third (the farm converts it on first use)."""
    out = tmp_path_factory.mktemp("farm_models") / "models"
    shutil.copytree(bench_out, out)
    return out


def _wait_listed(server, serial: str, state: str) -> None:  # type: ignore[no-untyped-def]
    """adb may drop a device whose first connect failed (unauthorized): connect again until it is listed."""
    from benchmark.device.adb import DeviceError, connect, list_devices

    for _ in range(20):
        if any(e.serial == serial and e.state == state for e in list_devices(server)):
            return
        try:
            connect(server, serial)
        except DeviceError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{serial} is not listed as {state} on {server}")


def test_farm_over_two_servers_with_faults(
    lab, second_server, emulated, models_dir, farm_out, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    fast = {"fixed_latency_ms": 10}
    a1 = emulated(props={"ro.serialno": "FARMA1"}, runner=fast)
    # unplugged as the farm starts pushing FARMA2's second model (the first is complete by then)
    doomed = emulated(
        props={"ro.serialno": "FARMA2"}, runner=fast, storage={"unplug_on_push_suffix": f"{HUMAN_V1}-x86-fp32.nb"}
    )
    b1 = emulated(server=second_server, props={"ro.serialno": "FARMB1"}, runner=fast)
    unauthorized = emulated(server=second_server, state="unauthorized", props={"ro.serialno": "FARMB2"})
    other = emulated(server=second_server, props={"ro.serialno": "OTHER1"}, runner=fast)
    reports = tmp_path / "reports"
    farm = write_farm(
        tmp_path,
        [str(lab.server), str(second_server)],
        connect=[{"address": a1.serial, "server": str(second_server)}],  # a1 is also seen through server B
        select={"serial": ["FARM*", "OTHER*"], "labels": ["nightly"]},
        devices={
            "FARMA1": {"labels": ["nightly"]},
            "FARMA2": {"labels": ["nightly"]},
            "FARMB1": {"labels": ["nightly", "sd855"], "work_dir": "/data/local/tmp/farm-b"},
        },
        parity={"enabled": True, "max_images": 1},
    )
    _wait_listed(second_server, unauthorized.serial, "unauthorized")
    rc, out, err = run_farm(capsys, farm_argv(farm, models_dir, farm_out, reports, models=THREE))
    assert rc == 1 and doomed.proc.poll() is not None  # the device process is gone
    recs = by_key(records(reports))
    assert set(recs) == {"FARMA1", "FARMA2", "FARMB1"}  # OTHER1 has no "nightly" label, FARMB2 is unauthorized
    for key in ("FARMA1", "FARMB1"):
        assert [r.status for r in recs[key]] == ["ok", "ok", "ok"]
        assert all(r.parity.passed and r.parity.images == 1 for r in recs[key])
    statuses = [r.status for r in recs["FARMA2"]]
    assert statuses[0] == "ok" and "not_run" in statuses and "ok" not in statuses[1:]
    not_run = [r for r in recs["FARMA2"] if r.status == "not_run"]
    assert all("the device disconnected; its remaining jobs were not run" in r.error for r in not_run)
    assert f"{other.serial} on {second_server}: not run: OTHER1/" in out and "does not match" in out
    assert f"{unauthorized.serial} on {second_server}: not run: unauthorized: USB debugging is not authorized" in out
    assert f"{a1.serial} on {second_server}: not run: the same phone (FARMA1/" in out
    payload = read_as(next(reports.glob("latency-*.json")), LatencyRun).farm
    work_dirs = {d.device_key.split("/")[0]: d.work_dir for d in payload.devices}
    assert work_dirs == {"FARMA1": "/data/local/tmp", "FARMA2": "/data/local/tmp", "FARMB1": "/data/local/tmp/farm-b"}
    assert b1.serial in out
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        rows = db.execute("SELECT device_key, adb_serial, status FROM records ORDER BY id").fetchall()
    assert len(rows) == 9
    assert {k for k, _, _ in rows} == {f"{s}/MI 9 (emulated)" for s in ("FARMA1", "FARMA2", "FARMB1")}
    assert {s for k, s, _ in rows if k.startswith("FARMB1")} == {b1.serial}


def test_farm_file_errors(lab, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "farm.yaml"
    bad.write_text("servers: [127.0.0.1:5037]\nmeasurment: {rounds: 2}\n")
    assert main(["farm", "--farm", str(bad), "--offline"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "measurment" in err and "Traceback" not in err
    bad.write_text("servers: [nohostport]\n")
    assert main(["farm", "--farm", str(bad), "--offline"]) == 2
    assert "servers: Value error, 'nohostport' is not host:port" in capsys.readouterr().err
    assert main(["farm", "--farm", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unreachable_server_and_no_device(lab, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmark.emulated.lab import free_port

    dead = f"127.0.0.1:{free_port()}"
    farm = write_farm(tmp_path, [dead], select={"serial": ["NO-SUCH-DEVICE"]})
    rc, out, err = run_farm(capsys, farm_argv(farm, models_dir, bench_out, tmp_path / "reports", models=PORTRAIT_V2))
    assert rc == 2
    assert f"adb server {dead} is not usable" in err and "no usable device" in err
    assert not (tmp_path / "history.sqlite").exists()  # nothing ran: no history, no run file
    assert not list((tmp_path / "reports").glob("latency-*.json"))


def test_a_server_that_goes_away_mid_run(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    doomed_server = lab.start_server()  # a farm host that disappears
    emulated(props={"ro.serialno": "SRVA1"}, runner={"fixed_latency_ms": 10})
    # the host's adb server dies as the farm starts pushing SRVB1's second model (the first is complete by then)
    kill = (lab.server_pid(doomed_server), f"{HUMAN_V1}-x86-fp32.nb")
    emulated(
        server=doomed_server,
        props={"ro.serialno": "SRVB1"},
        runner={"fixed_latency_ms": 10},
        storage={"kill_pid_on_push_suffix": kill},
    )
    reports = tmp_path / "reports"
    farm = write_farm(tmp_path, [str(lab.server), str(doomed_server)], select={"serial": ["SRV*"]})
    rc, _, err = run_farm(capsys, farm_argv(farm, models_dir, bench_out, reports))
    assert rc == 1
    recs = by_key(records(reports))
    assert [r.status for r in recs["SRVA1"]] == ["ok", "ok"]  # the other host's phone is not affected
    first, second = recs["SRVB1"]
    assert first.status == "ok"  # completed before the server went: kept
    # failed if the server went during the job's rounds, not_run if it went while the job took the device lock
    assert second.status in ("failed", "not_run") and f"(its adb server {doomed_server} is gone)" in second.error
    assert "the device disconnected; its remaining jobs were not run" in err
