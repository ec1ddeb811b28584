"""The device seam: the only module that imports adbutils. Discovery over an adb server, one shell call with a
deadline (shell v2: real exit code, separate stderr), verified pushes, pulls, kill by PID. adbutils errors are
translated here, once, into DeviceError with the serial and what to do.

The adb server must already run: we check its port ourselves first, because adbutils would otherwise start a
stray server on the default port.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
from dataclasses import dataclass

from benchmark.device.adb_env import without_unusable_port
from benchmark.device.info import THERMAL_SCRIPT, DeviceInfo, ThermalZone, info_script, parse_info, parse_zones
from benchmark.device.protocol import ShellResult
from converter.base.errors import ToolkitError

with without_unusable_port():  # adbutils makes a client from $ANDROID_ADB_SERVER_PORT when imported
    import adbutils
    from adbutils.errors import AdbError, AdbTimeout

UNUSABLE_REASONS = {
    "unauthorized": "USB debugging is not authorized: accept the RSA key prompt on the phone, then retry",
    "offline": "the device is offline: reconnect it (cable, `adb reconnect`, or `adb connect` again)",
    "recovery": "the device is in recovery mode: boot it normally",
    "bootloader": "the device is in the bootloader: boot it normally",
    "sideload": "the device is in sideload mode: boot it normally",
    "no permissions": "no permission to open the USB device: fix the udev rules for adb",
}


class DeviceError(ToolkitError):
    """A device or the adb server failed; the message names the serial and what to do. `serial`: the device, when
    one is concerned; `gone`: it disconnected or its server went away (its remaining work cannot run)."""

    def __init__(self, message: str, *, serial: str | None = None, gone: bool = False) -> None:
        super().__init__(message)
        self.serial = serial
        self.gone = gone


class DeviceTimeout(DeviceError):
    """A device command did not finish within its deadline (`action`, `timeout_s`)."""

    def __init__(self, serial: str, action: str, timeout_s: float | None = None) -> None:
        super().__init__(f"{serial}: {action} timed out", serial=serial)
        self.action = action
        self.timeout_s = timeout_s


class DeviceGone(DeviceError):
    """The device disconnected (or its adb server went away) during a run: its remaining work is not run."""

    def __init__(self, serial: str, detail: str = "its remaining models were not run") -> None:
        super().__init__(f"{serial}: the device disconnected; {detail}", serial=serial, gone=True)


@dataclass(frozen=True)
class AdbServer:
    host: str
    port: int

    @classmethod
    def from_env(cls, spec: str | None = None) -> AdbServer:
        if spec:
            host, _, port = spec.rpartition(":")
            if not port.isdigit():
                raise DeviceError(f"--adb {spec!r} must be HOST:PORT (e.g. 127.0.0.1:5037)")
            return cls(host or "127.0.0.1", int(port))
        host = os.environ.get("ANDROID_ADB_SERVER_HOST", "127.0.0.1")
        port = os.environ.get("ANDROID_ADB_SERVER_PORT", "5037")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def check_reachable(self, timeout_s: float = 3.0) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout_s):
                pass
        except OSError as e:
            raise DeviceError(
                f"no adb server at {self}: {e.strerror or e}. Start one (`adb start-server`, or "
                f"`adb -P {self.port} start-server`) or pass --adb HOST:PORT"
            ) from None

    def responds(self, timeout_s: float = 2.0) -> bool:
        """True when the server answers a `host:version` request. A server killed a moment ago can still accept a
        TCP connection (its listening socket closes after the others), so a connect alone is not proof of life."""
        request = b"host:version"
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout_s) as conn:
                conn.settimeout(timeout_s)
                conn.sendall(b"%04x" % len(request) + request)
                return conn.recv(4, socket.MSG_WAITALL) == b"OKAY"
        except OSError:
            return False

    def client(self) -> adbutils.AdbClient:
        self.check_reachable()
        return adbutils.AdbClient(host=self.host, port=self.port, socket_timeout=30)


@dataclass(frozen=True)
class DeviceEntry:
    serial: str
    state: str

    @property
    def usable(self) -> bool:
        return self.state == "device"

    @property
    def reason(self) -> str | None:
        if self.usable:
            return None
        return UNUSABLE_REASONS.get(self.state, f"state {self.state!r}")


def adb_binary() -> str:
    return str(adbutils.adb_path())


def list_devices(server: AdbServer) -> list[DeviceEntry]:
    try:
        return [DeviceEntry(d.serial, d.state) for d in server.client().list()]
    except AdbError as e:
        raise DeviceError(f"adb server {server}: cannot list devices: {e}") from None


def connect(server: AdbServer, address: str, timeout_s: float = 10.0) -> str:
    """`adb connect`. adbutils returns the server's reply string instead of raising: check it here."""
    try:
        reply = str(server.client().connect(address, timeout=timeout_s))
    except AdbError as e:
        raise DeviceError(f"adb connect {address} via {server} failed: {e}") from None
    if reply.startswith(("connected to", "already connected to")):
        return reply
    raise DeviceError(f"adb connect {address} via {server} failed: {reply.strip() or 'no reply'}")


def disconnect(server: AdbServer, address: str) -> None:
    try:
        server.client().disconnect(address)
    except (AdbError, DeviceError):
        pass


# adbutils checks sync-protocol replies with `assert` (e.g. Sync.stat): a device that vanishes mid-transfer
# surfaces as a bare AssertionError, so sync calls catch it alongside the transport errors.
_TRANSPORT_ERRORS = (AdbError, OSError, EOFError)
_SYNC_ERRORS = (*_TRANSPORT_ERRORS, AssertionError)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - integrity check against the device's md5sum


class AdbDevice:
    """A device behind an adb server (the Device protocol of benchmark.device.protocol)."""

    def __init__(self, server: AdbServer, serial: str) -> None:
        self.server = server
        self.serial = serial
        self._dev = server.client().device(serial=serial)

    def _fail(self, action: str, e: Exception) -> DeviceError:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, AssertionError):
            text = "unexpected adb sync reply"
        if isinstance(e, AdbTimeout):
            return DeviceTimeout(self.serial, action)
        lowered = text.lower()
        gone = isinstance(e, (EOFError, AssertionError)) or any(
            w in lowered
            for w in ("not found", "offline", "closed", "reset", "refused", "broken pipe", "expected", "unknown data")
        )
        hint = " (the device disconnected or went offline)" if gone else ""
        if not self.server.responds(timeout_s=2.0):
            hint, gone = f" (its adb server {self.server} is gone)", True
        return DeviceError(f"{self.serial}: {action} failed: {text}{hint}", serial=self.serial, gone=gone)

    def shell(self, cmd: str, timeout_s: float) -> ShellResult:
        """Run a device command (built with shell quoting by the caller) with shell v2 and a deadline."""
        try:
            r = self._dev.shell2(cmd, timeout=timeout_s, v2=True)
        except _TRANSPORT_ERRORS as e:
            raise self._fail(f"shell command {cmd[:80]!r}", e) from None
        return ShellResult(int(r.returncode), r.stdout or "", r.stderr or "")

    def info(self, timeout_s: float = 30) -> DeviceInfo:
        r = self.shell(info_script(), timeout_s)
        return parse_info(self.serial, r.stdout)

    def thermal(self, timeout_s: float = 15) -> tuple[ThermalZone, ...]:
        return parse_zones(self.shell(THERMAL_SCRIPT, timeout_s).stdout)

    def push(self, data: bytes, remote: str, *, mode: int = 0o644, timeout_s: float = 120) -> None:
        """Push and verify size and md5 on the device."""
        try:
            self._dev.sync.push(data, remote, mode=mode)
        except AdbError as e:
            if str(e).strip() == "FAIL":  # adbutils drops the device's reason: say what it usually is
                folder = remote.rsplit("/", 1)[0] or "/"
                raise DeviceError(
                    f"{self.serial}: push of {len(data)} bytes to {remote} was refused by the device (no space left, "
                    f"read-only or not writable); check with `adb -s {self.serial} shell df {folder}`"
                ) from None
            raise self._fail(f"push to {remote}", e) from None
        except (OSError, EOFError, AssertionError) as e:
            raise self._fail(f"push to {remote}", e) from None
        check = self.shell(f"stat -c %s {shlex.quote(remote)} && md5sum {shlex.quote(remote)}", timeout_s)
        lines = check.stdout.split()
        if check.returncode != 0 or len(lines) < 2 or lines[0] != str(len(data)) or lines[1] != _md5(data):
            raise DeviceError(
                f"{self.serial}: push to {remote} did not verify (expected {len(data)} bytes, md5 {_md5(data)}; "
                f"device says {check.stdout.strip()!r} {check.stderr.strip()!r})"
            )

    def pull(self, remote: str) -> bytes:
        try:
            return bytes(self._dev.sync.read_bytes(remote))
        except _SYNC_ERRORS as e:
            raise self._fail(f"pull of {remote}", e) from None

    def exists(self, remote: str) -> bool:
        try:
            return bool(self._dev.sync.exists(remote))
        except _SYNC_ERRORS as e:
            raise self._fail(f"stat of {remote}", e) from None

    def kill(self, pid: int, timeout_s: float = 15) -> bool:
        """SIGKILL a device-side process; True when it is gone afterwards (a zombie waiting for its parent to reap
        it counts as gone: it runs no more)."""
        alive = f"[ -d /proc/{pid} ] && ! grep -q '^State:.*Z' /proc/{pid}/status 2>/dev/null && echo alive"
        r = self.shell(f"kill -9 {pid} 2>/dev/null; sleep 0.2; {alive}", timeout_s)
        return "alive" not in r.stdout
