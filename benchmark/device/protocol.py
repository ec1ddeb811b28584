"""What the harness needs from a device: a shell with a deadline, verified pushes, pulls, its facts and thermal
zones, and killing a process. AdbDevice (benchmark.device.adb) is the real one; tests/fake_device.py is an in-memory
one for fast unit tests of the device logic (rounds, version checks, failure classification, disconnects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from benchmark.device.info import DeviceInfo, ThermalZone


@dataclass(frozen=True)
class ShellResult:
    returncode: int  # shell v2: the command's exit code, 128 + signal when it was killed
    stdout: str
    stderr: str


class Device(Protocol):
    serial: str

    def shell(self, cmd: str, timeout_s: float) -> ShellResult: ...

    def push(self, data: bytes, remote: str, *, mode: int = 0o644, timeout_s: float = 120) -> None: ...

    def pull(self, remote: str) -> bytes: ...

    def exists(self, remote: str) -> bool: ...

    def info(self, timeout_s: float = 30) -> DeviceInfo: ...

    def thermal(self, timeout_s: float = 15) -> tuple[ThermalZone, ...]: ...

    def kill(self, pid: int, timeout_s: float = 15) -> bool: ...
