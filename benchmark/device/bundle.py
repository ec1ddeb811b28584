"""What the harness pushes as the runner: benchmark_bin and the shared libraries it needs that sit beside it.

A phone runner built by Paddle-Lite's `build_android.sh ... full_publish` is static and needs nothing else; the
armlinux build of ../shared/paddle-lite-armv8 is linked to `libpaddle_light_api_shared.so` beside it (rpath
`$ORIGIN`), and a `c++_shared` build needs `libc++_shared.so`. The ELF header says which: its machine (checked
against the device's ABI before anything is pushed) and its DT_NEEDED entries (pushed when found beside the runner).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.device.elf import read_elf
from benchmark.device.info import DeviceInfo
from converter.base.errors import ToolkitError

RUNNER_NAME = "benchmark_bin"
ABI_MACHINES = {"arm64-v8a": "aarch64", "armeabi-v7a": "arm", "armeabi": "arm", "x86_64": "x86_64", "x86": "x86"}
GET_RUNNER_HELP = (
    "pass --runner PATH to an armv8 benchmark_bin built from the Paddle-Lite tag that matches opt (v2.13-rc for "
    "paddlelite==2.13rc0): `NDK_ROOT=... make runner PADDLE_LITE_SRC=<Paddle-Lite checkout at that tag>` builds one "
    "(docs/phones-and-runners.md)"
)


class RunnerFileError(ToolkitError):
    """The runner file cannot be used for this device."""


@dataclass(frozen=True)
class RunnerBundle:
    label: str  # what records show: the runner's path, or the emulated runner
    files: tuple[tuple[str, bytes, int], ...]  # (name in the work dir, content, mode); the runner first
    machine: str | None  # None: a script (the emulated device's runner)

    @property
    def libraries(self) -> list[str]:
        return [name for name, _, _ in self.files[1:]]


def emulated_runner_script() -> bytes:
    """What the harness pushes as benchmark_bin to an x86 emulated device: a wrapper around this host's Python."""
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m benchmark.emulated.runner "$@"\n'.encode()


def _libraries(folder: Path, needed: tuple[str, ...]) -> list[tuple[str, bytes, int]]:
    """The DT_NEEDED libraries found in `folder`, and theirs, transitively (system libraries are not there)."""
    out: dict[str, bytes] = {}
    todo = list(needed)
    while todo:
        name = todo.pop(0)
        path = folder / name
        if name in out or not path.is_file():
            continue
        out[name] = path.read_bytes()
        elf = read_elf(out[name])
        todo += list(elf.needed if elf else ())
    return [(name, data, 0o644) for name, data in out.items()]


def runner_bundle(runner: Path | None, info: DeviceInfo) -> RunnerBundle:
    """The files to push for this device, checked against its ABI (there is no Android x86 benchmark_bin:
    Paddle-Lite's build_android.sh builds armv8 and armv7 only)."""
    abi = info.abis[0] if info.abis else ""
    if runner is None:
        if info.emulated and info.qemu_cpu is None:  # whatever ABI it claims, its runtime is x86 Paddle-Lite
            return RunnerBundle(
                "emulated (Paddle-Lite x86 on the host)", ((RUNNER_NAME, emulated_runner_script(), 0o755),), None
            )
        raise RunnerFileError(
            f"{info.serial}: no runner given for this device ({abi or 'unknown ABI'}): {GET_RUNNER_HELP}"
        )
    try:
        data = runner.read_bytes()
    except OSError as e:
        raise RunnerFileError(f"runner {runner} cannot be read: {e.strerror or e}") from None
    elf = read_elf(data)
    if elf is None:  # a script: the user knows what it runs
        return RunnerBundle(str(runner), ((RUNNER_NAME, data, 0o755),), None)
    wanted = [ABI_MACHINES[a] for a in info.abis if a in ABI_MACHINES]
    if elf.machine not in wanted:
        abis = ", ".join(info.abis) or "no known ABI"
        raise RunnerFileError(
            f"runner {runner} is an {elf.machine} program, but {info.serial} runs {abis}"
            + (f": {GET_RUNNER_HELP}" if "aarch64" in wanted else "")
        )
    return RunnerBundle(str(runner), ((RUNNER_NAME, data, 0o755), *_libraries(runner.parent, elf.needed)), elf.machine)
