"""What the harness pushes as the runner: benchmark_bin and the shared libraries it needs that sit beside it.

A phone runner built by Paddle-Lite's `build_android.sh ... full_publish` is static and needs nothing else; the
armlinux build of ../shared/paddle-lite-armv8 is linked to `libpaddle_light_api_shared.so` beside it (rpath
`$ORIGIN`), and a `c++_shared` build needs `libc++_shared.so`. The ELF header says which: its machine (checked
against the device's ABI before anything is pushed) and its DT_NEEDED entries (pushed when found beside the runner).
"""

from __future__ import annotations

import shlex
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.device_info import DeviceInfo
from converter.errors import ToolkitError

RUNNER_NAME = "benchmark_bin"
MACHINES = {0x03: "x86", 0x28: "arm", 0x3E: "x86_64", 0xB7: "aarch64"}
ABI_MACHINES = {"arm64-v8a": "aarch64", "armeabi-v7a": "arm", "armeabi": "arm", "x86_64": "x86_64", "x86": "x86"}
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NEEDED, DT_STRTAB = 1, 5
GET_RUNNER_HELP = (
    "pass --runner PATH to an armv8 benchmark_bin built from the Paddle-Lite tag that matches opt (v2.13-rc for "
    "paddlelite==2.13rc0): `tools/build-phone-runner NDK_DIR PADDLE_LITE_CHECKOUT` (see docs in the README, "
    "'Phones and runners')"
)


class RunnerFileError(ToolkitError):
    """The runner file cannot be used for this device."""


@dataclass(frozen=True)
class Elf:
    machine: str  # aarch64 | arm | x86_64 | x86 | e_machine as hex
    needed: tuple[str, ...]


def read_elf(data: bytes) -> Elf | None:
    """Machine and DT_NEEDED of a little-endian ELF file; None when `data` is not ELF (a script)."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[5] != 1:
        return None
    is64 = data[4] == 2
    (e_machine,) = struct.unpack_from("<H", data, 18)
    machine = MACHINES.get(e_machine, hex(e_machine))
    if is64:
        e_phoff, e_phentsize, e_phnum = struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)
        ph_fmt, dyn_fmt = "<IIQQQQQQ", "<qQ"
    else:
        e_phoff, e_phentsize, e_phnum = struct.unpack_from("<I", data, 28)[0], *struct.unpack_from("<HH", data, 42)
        ph_fmt, dyn_fmt = "<IIIIIIII", "<iI"
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    for i in range(e_phnum):
        fields = struct.unpack_from(ph_fmt, data, e_phoff + i * e_phentsize)
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = fields[:5]
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return Elf(machine, ())  # static

    def file_offset(vaddr: int) -> int | None:
        for start, offset, size in loads:
            if start <= vaddr < start + size:
                return offset + vaddr - start
        return None

    entries: list[tuple[int, int]] = []
    step = struct.calcsize(dyn_fmt)
    for pos in range(dynamic[0], min(dynamic[0] + dynamic[1], len(data) - step + 1), step):
        tag, value = struct.unpack_from(dyn_fmt, data, pos)
        if tag == 0:
            break
        entries.append((tag, value))
    strtab = file_offset(next((v for t, v in entries if t == DT_STRTAB), -1))
    if strtab is None:
        return Elf(machine, ())
    needed = []
    for tag, value in entries:
        if tag == DT_NEEDED:
            end = data.index(b"\0", strtab + value)
            needed.append(data[strtab + value : end].decode(errors="replace"))
    return Elf(machine, tuple(needed))


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
        if info.emulated and info.qemu_cpu is None and abi in ("x86_64", "x86"):
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
