"""The emulated device through the real adb server and adbutils: the protocol facts the harness relies on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark.device.adb import AdbDevice, DeviceError, list_devices
from benchmark.emulated.lab import Lab
from benchmark.emulated.namespace import namespace_available

pytestmark = pytest.mark.slow


def test_shell_v2_sync_and_props(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    h = emulated()
    d = AdbDevice(lab.server, h.serial)
    r = d.shell("echo out; echo err >&2; exit 3", timeout_s=10)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert d.shell("kill -9 $$", timeout_s=10).returncode == 137  # killed by a signal: 128 + 9
    data = bytes(range(256)) * 3000  # several WRTEs and sync DATA chunks
    d.push(data, "/data/local/tmp/t/blob.bin", mode=0o755)  # verified by size and md5 on the device
    assert d.pull("/data/local/tmp/t/blob.bin") == data
    assert d.exists("/data/local/tmp/t/blob.bin") and not d.exists("/data/local/tmp/t/none")
    info = d.info()
    assert info.props["ro.serialno"] == "EMU855000001" and info.abis == ["x86_64"] and info.emulated
    assert info.prime_cpus() == [7] and info.big_cpus() == [4, 5, 6, 7]
    assert [z.type for z in info.zones][:2] == ["cpu-0-0-usr", "cpu-1-0-usr"]
    with pytest.raises(DeviceError, match="open failed"):
        d.pull("/data/local/tmp/t/none")


def test_device_states(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    unauthorized = emulated(state="unauthorized")
    recovery = emulated(state="recovery")
    states = {e.serial: e for e in list_devices(lab.server)}
    assert states[unauthorized.serial].state == "unauthorized"
    assert "accept the RSA key prompt" in (states[unauthorized.serial].reason or "")
    assert states[recovery.serial].state == "recovery" and not states[recovery.serial].usable


def test_push_into_a_full_or_read_only_device(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    full = AdbDevice(lab.server, emulated(storage={"free_bytes": 1000}).serial)
    with pytest.raises(DeviceError, match="refused by the device") as e:
        full.push(b"x" * 5000, "/data/local/tmp/big.bin")
    assert full.serial in str(e.value) and "/data/local/tmp/big.bin" in str(e.value)
    assert not full.exists("/data/local/tmp/big.bin")
    ro = AdbDevice(lab.server, emulated(storage={"read_only": True}).serial)
    with pytest.raises(DeviceError, match="refused by the device"):
        ro.push(b"x", "/data/local/tmp/x.bin")


def test_plain_mode_rewrites_android_paths(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    h = emulated(isolate="no")
    d = AdbDevice(lab.server, h.serial)
    r = d.shell("echo hi > /data/local/tmp/p.txt; cat /data/local/tmp/p.txt; pwd", timeout_s=10)
    assert r.stdout.splitlines() == ["hi", str(h.root)]  # the crude part: host paths show
    assert (h.root / "data/local/tmp/p.txt").read_text() == "hi\n"


@pytest.mark.skipif(not namespace_available(), reason="the kernel refuses user namespaces (unshare -U -r -m)")
def test_namespace_mode_is_a_chroot(lab, emulated) -> None:  # type: ignore[no-untyped-def]
    h = emulated(isolate="yes")
    d = AdbDevice(lab.server, h.serial)
    r = d.shell(
        "pwd; ls /; tail -n 1 /proc/cpuinfo; echo hi > /data/local/tmp/n.txt; realpath /data/local/tmp/n.txt",
        timeout_s=10,
    )
    lines = r.stdout.splitlines()
    assert lines[0] == "/" and {"data", "system", "sys", "sdcard"} <= set(lines)
    assert "SM8150" in r.stdout and lines[-1] == "/data/local/tmp/n.txt"  # no host path leaks
    assert (h.root / "data/local/tmp/n.txt").read_text() == "hi\n"
    assert "namespace setup" in h.log_path.read_text()


def test_connect_failure_string_is_an_error(lab) -> None:  # type: ignore[no-untyped-def]
    from benchmark.device.adb import connect
    from benchmark.emulated.lab import free_port

    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(DeviceError, match=f"adb connect {address} via .* failed: failed to connect"):
        connect(lab.server, address)  # adbutils returns "failed to connect to ..." instead of raising


def test_a_server_is_alive_only_when_it_answers(lab) -> None:  # type: ignore[no-untyped-def]
    """A server killed a moment ago can still accept a connection; only an answered request proves it alive."""
    import socket
    import threading

    from benchmark.device.adb import AdbServer

    assert lab.server.responds()
    with socket.socket() as listener:  # accepts, then drops the connection unanswered, as a dying server does
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def _drop() -> None:
            conn, _ = listener.accept()
            conn.close()

        dropper = threading.Thread(target=_drop)
        dropper.start()
        mute = AdbServer("127.0.0.1", listener.getsockname()[1])
        mute.check_reachable()  # a connect alone succeeds
        dropper.join(timeout=5)
        dropper = threading.Thread(target=_drop)
        dropper.start()
        assert not mute.responds(timeout_s=2.0)
        dropper.join(timeout=5)


def test_a_lab_removes_the_folder_it_made_unless_it_failed(tmp_path: Path) -> None:
    """Every emulated command runs a lab in a temporary folder (device trees, adb and device logs): removed when the
    lab ends cleanly, kept when it ends on an error (its message names the logs), never removed when it was given."""
    with Lab.create() as lab:
        server = lab.start_server()
        made = lab.workdir
        assert (made / f"adb-server-{server.port}.log").is_file()
    assert not made.exists()
    with pytest.raises(RuntimeError, match="a failure"), Lab.create() as lab:
        kept = lab.workdir
        raise RuntimeError("a failure")
    assert kept.is_dir()
    shutil.rmtree(kept)
    given = tmp_path / "lab"
    given.mkdir()
    with Lab.create(given) as lab:
        (given / "mine.txt").write_text("the caller's")
    assert (given / "mine.txt").is_file()
