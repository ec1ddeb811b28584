"""A private adb server on a free port with emulated devices behind it, for `make bench-emulated` and the tests.
Everything it starts is stopped by PID on exit, also on errors and Ctrl-C."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from benchmark.device.adb import AdbServer, DeviceError, adb_binary, connect, disconnect, list_devices
from benchmark.emulated.phone import PhoneSpec
from converter.base import process
from converter.base.errors import ToolkitError

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 30.0


class LabError(ToolkitError):
    """An adb server or emulated device could not be started."""


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not 5555 <= port <= 5585 and port != 5037:  # ports every adb server scans or owns
            return port


def _log_errors(log_path: Path) -> str:
    """The `error: ...` lines a child printed before it exited (what to tell the user), else its last line."""
    try:
        lines = [ln.strip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln.removeprefix("error: ") for ln in lines if ln.startswith("error: ")]
    return "; ".join(errors) or (lines[-1] if lines else "")


def _wait_for_port(port: int, proc: process.Popen[bytes], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = _log_errors(log_path)
            raise LabError(
                f"{what} exited with {proc.returncode} during start-up"
                + (f": {why}" if why else "")
                + f"; log: {log_path}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise LabError(f"{what} did not listen on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S:.0f} s; log: {log_path}")


@dataclass
class EmulatedDeviceHandle:
    phone_path: Path
    root: Path
    port: int
    proc: process.Popen[bytes]
    log_path: Path

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Lab:
    workdir: Path
    server: AdbServer | None = None
    devices: list[EmulatedDeviceHandle] = field(default_factory=list)
    _servers: list[tuple[AdbServer, process.Popen[bytes]]] = field(default_factory=list)
    owns_workdir: bool = False  # made by create(): removed when the lab ends cleanly, kept (with its logs) on an error

    @classmethod
    def create(cls, workdir: Path | None = None) -> Lab:
        if workdir is not None:
            return cls(Path(workdir))
        return cls(Path(tempfile.mkdtemp(prefix="pplite-lab-")), owns_workdir=True)

    def start_server(self) -> AdbServer:
        port = free_port()
        home = self.workdir / f"adb-home-{port}"
        home.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / f"adb-server-{port}.log"
        proc = process.spawn(
            [adb_binary(), "-P", str(port), "nodaemon", "server"],
            log_path=log_path,
            env={"HOME": str(home), "ANDROID_ADB_SERVER_PORT": str(port)},
        )
        server = AdbServer("127.0.0.1", port)
        self._servers.append((server, proc))
        _wait_for_port(port, proc, "adb server", log_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:  # adb 36 answers its first request only after about 3 s
            try:
                list_devices(server)
                break
            except DeviceError:
                if time.monotonic() > deadline:
                    raise LabError(f"adb server on port {port} does not answer; log: {log_path}") from None
                time.sleep(0.2)
        if self.server is None:
            self.server = server
        return server

    def add_device(
        self, phone: PhoneSpec, *, server: AdbServer | None = None, connect_now: bool = True, isolate: str | None = None
    ) -> EmulatedDeviceHandle:
        """Start an emulated device and `adb connect` it. isolate: auto | yes | no (default $PPLITE_EMULATED_ISOLATE,
        else auto: namespace mode where the kernel allows it)."""
        target = server or self.server or self.start_server()
        port = free_port()
        root = self.workdir / f"device-{port}"
        phone_path = self.workdir / f"phone-{port}.json"
        phone_path.write_text(phone.model_dump_json(indent=2))
        log_path = self.workdir / f"device-{port}.log"
        mode = isolate or os.environ.get("PPLITE_EMULATED_ISOLATE", "auto")
        argv = [sys.executable, "-m", "benchmark.emulated", "--root", str(root), "--port", str(port)]
        argv += ["--profile", str(phone_path), "--isolate", mode]
        proc = process.spawn(argv, log_path=log_path)
        handle = EmulatedDeviceHandle(phone_path, root, port, proc, log_path)
        self.devices.append(handle)
        _wait_for_port(port, proc, f"emulated device {phone.name}", log_path)
        if connect_now:
            try:
                connect(target, handle.serial)
            except DeviceError as e:
                if phone.state != "unauthorized":  # "failed to authenticate" is what unauthorized looks like
                    raise LabError(str(e)) from None
        return handle

    def kill_device(self, handle: EmulatedDeviceHandle) -> None:
        """Kill the device process (a phone unplugged mid-run); it stays listed until removed."""
        process.stop(handle.proc, timeout_s=5)

    def server_pid(self, server: AdbServer) -> int:
        return next(proc.pid for known, proc in self._servers if known == server)

    def kill_server(self, server: AdbServer) -> None:
        """Stop one adb server (a farm host going away mid-run); its devices stay running."""
        for known, proc in self._servers:
            if known == server:
                process.stop(proc, timeout_s=5)

    def remove_device(self, handle: EmulatedDeviceHandle) -> None:
        """Disconnect and stop a device; a second call for the same device does nothing."""
        if handle not in self.devices:
            return
        for server, _ in self._servers:
            disconnect(server, handle.serial)
        process.stop(handle.proc)
        self.devices.remove(handle)

    def close(self) -> None:
        for server, _ in self._servers:
            for d in self.devices:
                disconnect(server, d.serial)
        for d in self.devices:
            process.stop(d.proc)
        for _, proc in self._servers:
            process.stop(proc)

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        if self.owns_workdir and exc_type is None:  # on an error the logs its message names stay
            shutil.rmtree(self.workdir, ignore_errors=True)
