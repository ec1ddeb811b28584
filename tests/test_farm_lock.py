"""The on-device lock: two farm runs started at once on the same devices never overlap and both finish; stale locks
(a dead holder on this host, an old lock from elsewhere) are broken; a live foreign lock makes a worker wait."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.device.adb import AdbDevice
from benchmark.device.protocol import Device
from benchmark.farm.lock import LOCK_NAME, DeviceBusy, DeviceLock, Owner
from benchmark.records.runs import LatencyRun
from tests.farm_support import farm_argv, spawn_farm, write_farm
from tests.runs import read_as

pytestmark = pytest.mark.slow


def _plant(device: Device, text: str) -> None:
    device.shell(f"rm -f /data/local/tmp/{LOCK_NAME}; ln -s '{text}' /data/local/tmp/{LOCK_NAME}", 15)


def _held_by(device: Device) -> str:
    return device.shell(f"readlink /data/local/tmp/{LOCK_NAME} || echo none", 15).stdout.strip()


def _device_now(device: Device) -> int:
    return int(device.shell("date +%s", 15).stdout.strip())


def test_lock_rules(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    device = AdbDevice(lab.server, h.serial)
    lock = DeviceLock(device, "/data/local/tmp", stale_after_s=3600)
    assert lock.acquire(wait_s=0, poll_s=0.1) == 0.0
    mine = _held_by(device)
    assert mine.startswith("pplite-lock:") and mine.endswith(lock.token)
    other = DeviceLock(device, "/data/local/tmp", stale_after_s=3600, host="ci-runner-7")
    with pytest.raises(DeviceBusy, match=rf"{h.serial}: busy: .* held by host {lock.host} PID"):
        other.acquire(wait_s=0.3, poll_s=0.1)  # same-host live holder: waits, then gives up naming the holder
    other.held = Owner(other.host, 1, 0, "not-the-owner")
    other.release()  # a release by a handle that does not hold the lock must not...
    assert _held_by(device) == mine  # ...remove a lock it does not hold
    lock.release()
    assert _held_by(device) == "none"

    now = _device_now(device)
    _plant(device, f"pplite-lock:ci-runner-7:4242:{now}:feedfacecafe")  # live holder on another host
    with pytest.raises(DeviceBusy, match="held by host ci-runner-7 PID 4242"):
        DeviceLock(device, "/data/local/tmp", stale_after_s=3600).acquire(wait_s=0.3, poll_s=0.1)

    _plant(device, f"pplite-lock:ci-runner-7:4242:{now - 10_000}:feedfacecafe")  # older than stale_after_s
    fresh = DeviceLock(device, "/data/local/tmp", stale_after_s=3600)
    assert fresh.acquire(wait_s=0, poll_s=0.1) == 0.0
    assert _held_by(device).endswith(fresh.token)
    fresh.release()

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True, timeout=60
    )
    pid = int(dead.stdout)
    host = lock.host
    _plant(device, f"pplite-lock:{host}:{pid}:{now}:0123456789ab")  # its holder on this host has exited
    again = DeviceLock(device, "/data/local/tmp", stale_after_s=3600)
    assert again.acquire(wait_s=0, poll_s=0.1) == 0.0
    again.release()


def _intervals(reports: Path) -> dict[str, list[tuple[float, float, str]]]:
    out: dict[str, list[tuple[float, float, str]]] = {}
    for f in reports.glob("latency-*.json"):
        for r in read_as(f, LatencyRun).records:
            lock = r.lock
            out.setdefault(r.device_key, []).append((lock.held_from_unix_s, lock.held_until_unix_s, r.farm_run_id))
    return out


def test_two_farm_runs_at_once_never_share_a_device(lab, emulated, models_dir, bench_out, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for n in (1, 2):
        emulated(props={"ro.serialno": f"LOCK{n}"}, runner={"fixed_latency_ms": 30})
    farm = write_farm(tmp_path, [str(lab.server)], select={"serial": ["LOCK*"]})
    runs = []
    for name in ("first", "second"):
        argv = farm_argv(farm, models_dir, bench_out, tmp_path / name, "--force", "--run-name", f"lock-{name}")
        runs.append(spawn_farm(argv, tmp_path / f"{name}.log"))
    for p in runs:
        assert p.wait(timeout=600) == 0, (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    both: dict[str, list[tuple[float, float, str]]] = {}
    for name in ("first", "second"):
        for key, spans in _intervals(tmp_path / name).items():
            both.setdefault(key, []).extend(spans)
    assert sorted(both) == ["LOCK1/MI 9 (emulated)", "LOCK2/MI 9 (emulated)"]
    for key, spans in both.items():
        spans.sort()
        assert len(spans) == 4 and len({s[2] for s in spans}) == 2  # 2 models x 2 runs
        for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"{key}: two jobs overlapped on the device"
    logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
    assert "waiting for the device lock held by host" in logs
