"""One program of an ARM runtime run directly under qemu-aarch64 (no emulated phone around it), optionally with
QEMU's instruction-count plugin: what `runtimes` needs to compare Paddle-Lite's and ncnn's kernels on the same
emulated core. The plugin's count is of the whole process; per inference = (count with R2 runs - count with R1) /
(R2 - R1), so loading and exit cancel."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmark.emulated import arm_runtime
from benchmark.emulated.binfmt import check_host
from benchmark.emulated.phone import Qemu
from converter.base import process
from converter.base.errors import ToolkitError

_INSNS = re.compile(r"insns: (\d+)")


class GuestRunError(ToolkitError):
    """An ARM program failed under QEMU (named, with its exit code and last output)."""


@dataclass(frozen=True)
class GuestRun:
    stdout: str
    insns: int | None  # whole-process guest instructions, when counted


def run_guest(argv: list[str], *, cpu: str, sysroot: str | None, count: bool, timeout_s: float = 900) -> GuestRun:
    """argv (an aarch64 program and its arguments) under qemu-aarch64 -cpu `cpu` (-L sysroot for a dynamic one)."""
    qemu = check_host(Qemu(cpu=cpu))
    with tempfile.TemporaryDirectory(prefix="pplite-guest-") as tmp:
        log = Path(tmp) / "insns.txt"
        full = [str(qemu), "-cpu", cpu, *(["-L", sysroot] if sysroot else [])]
        if count:
            full += ["-plugin", str(arm_runtime.require_insn_plugin("runtimes")), "-d", "plugin", "-D", str(log)]
        r = process.run([*full, *argv], timeout_s=timeout_s)
        if r.returncode != 0 or r.timed_out:
            why = "timed out" if r.timed_out else f"exit {r.returncode}{f' ({r.signal_name})' if r.signal_name else ''}"
            raise GuestRunError(f"{Path(argv[0]).name} under qemu-aarch64 -cpu {cpu}: {why}: {r.tail(4)}")
        found = _INSNS.search(log.read_text()) if count and log.is_file() else None
        if count and found is None:
            raise GuestRunError(f"{Path(argv[0]).name}: the instruction-count plugin wrote no count")
        return GuestRun(r.stdout, int(found.group(1)) if found else None)
