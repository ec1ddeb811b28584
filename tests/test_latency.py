"""`python -m benchmark latency` end to end through the real adb server and emulated devices, with faults."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.emulated.lab import Lab, free_port
from benchmark.records.runs import LatencyRun, ParityRun
from tests.conftest import HUMAN_V1, PORTRAIT_V2
from tests.runs import read_as

pytestmark = pytest.mark.slow
FAST = ["--rounds", "2", "--repeats", "3", "--warmup", "1", "--offline", "--no-parity"]


def _latency(capsys, lab, models_dir, bench_out, tmp_path, *extra, models=PORTRAIT_V2):  # type: ignore[no-untyped-def]
    argv = [
        "latency",
        "--adb",
        str(lab.server),
        "--models-dir",
        str(models_dir),
        "--out",
        str(bench_out),
        "--models",
        models,
        "--reports",
        str(tmp_path / "reports"),
        *FAST,
        *extra,
    ]
    rc = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.out + cap.err
    files = sorted((tmp_path / "reports").glob("latency-*.json"))
    return rc, cap.out, cap.err, read_as(files[-1], LatencyRun).records if files else []


@pytest.mark.parametrize("isolate", ["auto", "no"])  # "no": the plain mode, for kernels without user namespaces
def test_two_models_end_to_end(lab, emulated, models_dir, bench_out, tmp_path, capsys, isolate) -> None:  # type: ignore[no-untyped-def]
    h = emulated(isolate=isolate)
    rc, out, _, records = _latency(
        capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial, models=f"{PORTRAIT_V2},{HUMAN_V1}"
    )
    assert rc == 0, out
    assert [r.model for r in records] == [PORTRAIT_V2, HUMAN_V1]
    for r in records:
        assert r.status == "ok" and r.emulated is True and "host" in r.timing_source
        assert r.device.serial == h.serial and r.device.soc == "SM8150"
        assert r.device.abi == "x86_64" and r.target == "x86" and r.nb.path.endswith("x86-fp32.nb")
        assert r.runner.version == "v2.13-rc" and r.rounds == 2 and len(r.rounds_ms) == 2
        assert (r.threads, r.power_mode, r.warmup, r.repeats) == (1, 0, 1, 3)
        for key in ("median_ms", "mean_ms", "std_ms", "p90_ms", "min_ms", "max_ms", "cv", "init_ms"):
            assert isinstance(getattr(r, key), float) and getattr(r, key) >= 0
        assert r.min_ms <= r.median_ms <= r.max_ms and r.peak_memory_mb > 0
        assert set(r.temps_before) >= {"cpu-0-0-usr", "battery"} and r.temps_after
        assert r.runner_wall_s > 0 and r.harness_wall_s >= r.runner_wall_s
    assert records[0].seed_ms == 15.86 and records[1].seed_ms == 12.3
    assert "host-emulated" in out and "15.86" in out
    assert not list((h.root / "data/local/tmp").glob("pplite-*"))  # work dir cleaned up


def test_keep_and_pin(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    rc, _, _, records = _latency(
        capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial, "--keep", "--pin", "prime"
    )
    assert rc == 0 and records[0].pin == "prime"
    (work,) = (h.root / "data/local/tmp").glob("pplite-*")
    assert (work / "benchmark_bin").is_file() and (work / f"{PORTRAIT_V2}-x86-fp32.nb").is_file()
    assert (h.root / "data/local/tmp/.last_taskset_mask").read_text().strip() == "80"  # cpu7, the prime core


@pytest.mark.parametrize(
    ("runner", "expected"),
    [
        ({"exit_code": 3}, "the runner exited with 3"),
        ({"output": "garbage"}, "no '======= Perf Info ======='"),
        ({"output": "no_perf"}, "no '======= Perf Info ======='"),
        ({"output": "truncated_perf"}, "incomplete: no min, max, avg"),
        ({"skip_output_files": True}, "wrote no result file"),
    ],
)
def test_runner_faults(lab, emulated, models_dir, bench_out, tmp_path, capsys, runner, expected) -> None:  # type: ignore[no-untyped-def]
    h = emulated(runner=runner)
    rc, out, err, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    assert rc == 1
    (r,) = records
    assert r.status == "failed" and expected in r.error and h.serial in r.error
    assert expected in err and "FAILED" in out


def test_hanging_runner_is_killed_on_the_device(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated(runner={"hang": True})
    rc, _, _, records = _latency(
        capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial, "--round-timeout", "3"
    )
    assert rc == 1
    error = records[0].error
    assert "did not finish within 3 s" in error
    m = re.search(r"killed PID (\d+) on the device", error)
    assert m, error
    status = Path(f"/proc/{m.group(1)}/status")  # plain mode: device PIDs are host PIDs
    assert not status.exists() or "\nState:\tZ" in status.read_text()  # gone, or a reaped-later zombie


def test_push_failure(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated(storage={"read_only": True})
    rc, _, err, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    assert rc == 1 and records == []
    assert f"{h.serial}: push of" in err and "refused by the device" in err


def test_connection_dropped_during_push(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # adbutils answers a dropped sync stream with a bare AssertionError: it must become a clear per-model failure
    h = emulated(storage={"hangup_on_stat_suffix": f"{HUMAN_V1}-x86-fp32.nb"})
    rc, _, err, records = _latency(
        capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial, models=f"{HUMAN_V1},{PORTRAIT_V2}"
    )
    assert rc == 1
    assert [r.status for r in records] == ["failed", "ok"]  # the device still answers: the next model runs
    assert f"{h.serial}: push to" in records[0].error and "unexpected adb sync reply" in records[0].error
    assert "disconnected or went offline" in err


def test_disconnect_mid_run_keeps_completed_work(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    stable = emulated()
    # unplugged as the harness starts pushing its second model: the first is complete, the second is not
    doomed = emulated(storage={"unplug_on_push_suffix": f"{HUMAN_V1}-x86-fp32.nb"})
    rc, _, err, records = _latency(
        capsys, lab, models_dir, bench_out, tmp_path, "--rounds", "3", models=f"{PORTRAIT_V2},{HUMAN_V1}"
    )
    assert rc == 1
    by_device: dict[str, list[dict]] = {}
    for r in records:
        by_device.setdefault(r.device.serial, []).append(r)
    assert [r.status for r in by_device[stable.serial]] == ["ok", "ok"]
    first, second = by_device[doomed.serial]
    assert first.status == "ok"  # completed before the unplug: kept
    assert second.status == "failed" and doomed.serial in second.error
    assert f"{doomed.serial}: the device disconnected; its remaining models were not run" in err


def test_serial_selects_one_of_two(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = emulated(), emulated()
    rc, _, _, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", b.serial)
    assert rc == 0 and {r.device.serial for r in records} == {b.serial}
    rc, _, err, _ = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", "10.0.0.9:5555")
    assert rc == 2 and "10.0.0.9:5555 is not attached" in err and a.serial in err


def test_unauthorized_device_is_skipped(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated(state="unauthorized")
    rc, _, err, _ = _latency(capsys, lab, models_dir, bench_out, tmp_path)
    assert rc == 2
    assert f"skipping {h.serial}: USB debugging is not authorized" in err and "no usable device" in err


def test_real_arm_device_needs_a_runner(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmark.emulated.phone import load_phone

    abi = {"ro.product.cpu.abi": "arm64-v8a", "ro.product.cpu.abilist": "arm64-v8a"}
    props = dict(load_phone("sd855").props, **{"ro.toolkit.emulated": "0"}, **abi)
    h = emulated(props=props)
    rc, _, err, _ = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    assert rc == 1 and "no runner given for this device (arm64-v8a)" in err and "make runner PADDLE_LITE_SRC=" in err


def test_real_x86_device_is_refused(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmark.emulated.phone import load_phone

    props = dict(load_phone("sd855").props, **{"ro.toolkit.emulated": "0"})  # an x86_64 Android device
    h = emulated(props=props)
    rc, _, err, _ = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    assert rc == 1 and "no Android x86 benchmark_bin" in err and h.serial in err


def test_arm_device_gets_the_arm_nb(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmark.emulated.phone import load_phone

    props = dict(load_phone("sd855").props, **{"ro.product.cpu.abilist": "arm64-v8a,armeabi-v7a"})
    h = emulated(props=props)
    rc, _, _, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    (r,) = records
    assert r.target == "arm" and r.nb.path.endswith("arm-fp32.nb")
    # the emulated runtime is x86 Paddle-Lite: it refuses ARM kernels, as an x86 runtime on a phone would
    assert rc == 1 and "killed by signal 6" in r.error and "holds arm kernels" in r.error


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v2.12", "--version says Paddle-Lite v2.12"),
        ("", "--version says an empty Paddle-Lite version"),
        ("cd09a8e010", "a commit hash: it was built off a tag"),
    ],
)
def test_version_mismatch_is_an_error_before_the_run(  # type: ignore[no-untyped-def]
    lab, emulated, models_dir, bench_out, tmp_path, capsys, version, expected
) -> None:
    h = emulated(runner={"version": version})
    rc, _, err, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    (r,) = records
    assert rc == 1 and r.status == "failed" and r.rounds is None  # refused before any round ran
    assert "version mismatch" in r.error and "opt v2.13-rc" in r.error and expected in r.error
    assert r.runner.version == version and "v2.13-rc here" in r.error


def test_a_runner_that_names_no_version_is_refused_unless_allowed(  # type: ignore[no-untyped-def]
    lab, emulated, models_dir, bench_out, tmp_path, capsys
) -> None:
    h = emulated(runner={"silent_version": True})
    rc, _, err, (r,) = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial)
    assert rc == 1 and r.status == "failed" and r.rounds is None and r.runner.version is None
    assert "does not say which Paddle-Lite it is" in r.error and "--allow-unknown-runner-version" in r.error
    assert "opt v2.13-rc" in r.error and r.runner.unknown_version_allowed is False
    again = tmp_path / "allowed"  # a run file of its own (two in one second would sort the other way)
    rc, _, _, records = _latency(
        capsys, lab, models_dir, bench_out, again, "--serial", h.serial, "--allow-unknown-runner-version"
    )
    r = records[-1]
    assert rc == 0 and r.status == "ok" and r.runner.unknown_version_allowed is True
    assert r.runner.sources == {} and r.runner.version is None


def test_thermal_wait_then_bound(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    hot = {"heat_mc_per_s": 400000, "cool_tau_s": 1.0}
    h = emulated(thermal=hot)
    rc, _, _, records = _latency(
        capsys,
        lab,
        models_dir,
        bench_out,
        tmp_path,
        "--serial",
        h.serial,
        "--thermal-poll",
        "0.2",
        "--thermal-wait",
        "30",
        models=f"{PORTRAIT_V2},{HUMAN_V1}",
    )
    assert rc == 0
    first, second = records
    assert max(first.temps_after[k] for k in ("cpu-0-0-usr", "cpu-1-0-usr")) > 38.0  # the runner heated it
    wait = second.thermal_wait
    assert wait.waited_s > 0 and not wait.timed_out and wait.end_c <= wait.baseline_c + 3.0
    assert any(w.startswith("thermal wait") for w in second.warnings)

    slow = emulated(thermal={"heat_mc_per_s": 400000, "cool_tau_s": 100000.0})
    rc, _, _, records = _latency(
        capsys,
        lab,
        models_dir,
        bench_out,
        tmp_path,
        "--serial",
        slow.serial,
        "--thermal-poll",
        "0.2",
        "--thermal-wait",
        "1",
        models=f"{PORTRAIT_V2},{HUMAN_V1}",
    )
    wait = records[-1].thermal_wait
    assert rc == 0 and wait.timed_out and wait.end_c > wait.baseline_c + 3.0
    assert any("bound reached" in w for w in records[-1].warnings)


def test_sustained_mode(lab, emulated, models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    rc, _, _, records = _latency(capsys, lab, models_dir, bench_out, tmp_path, "--serial", h.serial, "--duration", "3s")
    (r,) = records
    assert rc == 0 and r.sustained_s == 3.0 and r.rounds >= 3
    assert r.round_started_s == sorted(r.round_started_s) and len(r.round_started_s) == r.rounds


def test_server_without_devices(models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    with Lab.create(tmp_path / "lab") as empty:
        empty.start_server()
        rc, _, err, _ = _latency(capsys, empty, models_dir, bench_out, tmp_path)
    assert rc == 2 and f"no usable device on the adb server {empty.server}" in err


def test_no_adb_server_and_no_stray_server(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    rc = main(["latency", "--adb", f"127.0.0.1:{port}", "--offline", "--models", PORTRAIT_V2])
    err = capsys.readouterr().err
    assert rc == 2 and f"no adb server at 127.0.0.1:{port}" in err
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # nothing was auto-started on that port


def _helpers_running() -> int:
    """adb servers and emulated devices started from this test process (another run on the machine has its own)."""
    import subprocess

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                return False
            pid = int(stat.rpartition(")")[2].split()[1])  # the parent's PID follows the state field
        return False

    pattern = "benchmark.emulated --root|nodaemon server"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False, timeout=10)
    return sum(ours(int(pid)) for pid in found.stdout.split())


def test_bench_emulated_command_starts_and_stops_everything(models_dir, bench_out, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _helpers_running()
    reports = tmp_path / "reports"
    rc = main(
        [
            "bench-emulated",
            "--models-dir",
            str(models_dir),
            "--out",
            str(bench_out),
            "--models",
            HUMAN_V1,
            "--rounds",
            "2",
            "--repeats",
            "3",
            "--warmup",
            "1",
            "--offline",
            "--reports",
            str(reports),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "in-process" in out and "ratio" in out  # medians beside Paddle-Lite x86 timed in-process
    assert read_as(next(reports.glob("latency-*.json")), LatencyRun).records[0].status == "ok"
    parity = read_as(next(reports.glob("parity-*.json")), ParityRun)
    assert parity.source == "device" and parity.images == "generated" and len(parity.records) == 4
    assert _helpers_running() == before  # its adb server and emulated device were stopped
