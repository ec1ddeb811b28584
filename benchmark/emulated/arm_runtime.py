"""Where the Paddle-Lite ARM runtime built for QEMU lives: `$ARM_RUNTIME_DIR`, else `../shared/paddle-lite-armv8`
beside the repository. It holds `fp32/` and `fp16/` builds of benchmark_bin (with their libpaddle_light_api_shared.so)
and QEMU's instruction-count plugin. ARM emulated phones take their default runner and their counter from here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base import process
from converter.base.errors import ToolkitError

REPO = Path(__file__).resolve().parents[2]
ENV = "ARM_RUNTIME_DIR"
PLUGIN_NAME = "libinsncount.so"


def runtime_dir() -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else REPO.parent / "shared" / "paddle-lite-armv8"


def default_runner() -> Path:
    """The fp16 build: it runs every variant (fp32, fp16, int8, int16) on a CPU with FP16."""
    return runtime_dir() / "fp16" / "benchmark_bin"


def insn_plugin() -> Path | None:
    path = runtime_dir() / PLUGIN_NAME
    return path if path.is_file() else None


class RuntimeSetupError(ToolkitError):
    """The ARM runtime folder lacks a program, or it failed to run."""


class CounterMissing(ToolkitError):
    """An ARM emulated phone without its instruction counter: a setup error (the count is its main figure)."""


def require_insn_plugin(device_name: str) -> Path:
    """QEMU's instruction-count plugin, or an error naming the folder searched and the fix."""
    plugin = insn_plugin()
    if plugin is None:
        raise CounterMissing(
            f"the ARM emulated phone {device_name} counts instructions with QEMU's plugin {PLUGIN_NAME}, which is not "
            f"in {runtime_dir()}: set {ENV} to a Paddle-Lite armv8 runtime folder that has it (build it from "
            "insncount.c there, see its README)"
        )
    return plugin


def lite_run_binary(precision: str) -> Path:
    """The runtime's `lite_run` for a variant: the fp16 build runs every variant, the fp32 build all but fp16."""
    return runtime_dir() / ("fp16" if precision == "fp16" else "fp32") / "lite_run"


def run_lite(nb: Path, x: NDArray[Any], *, precision: str, cpu: str = "max", timeout_s: float = 600) -> NDArray[Any]:
    """Output 0 of one inference of an ARM .nb, run by the real ARM runtime's `lite_run` under qemu-aarch64 (binary
    float32 in and out: no 6-digit text dump)."""
    from benchmark.emulated.binfmt import check_host
    from benchmark.emulated.phone import Qemu

    qemu = Qemu(cpu=cpu)
    binary, runner = check_host(qemu), lite_run_binary(precision)
    if not runner.is_file():
        raise RuntimeSetupError(f"{runner} does not exist: set {ENV} to a Paddle-Lite armv8 runtime folder")
    with tempfile.TemporaryDirectory(prefix="pplite-lite-run-") as tmp:
        src, out = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        np.ascontiguousarray(x, dtype=np.float32).tofile(src)
        shape = ",".join(map(str, x.shape))
        argv = [str(binary), "-cpu", cpu, "-L", qemu.sysroot, str(runner), str(nb), str(src), str(out), shape]
        r = process.run([*argv, "1", "0", "1", "0"], timeout_s=timeout_s)
        if r.returncode != 0 or not out.is_file():
            raise RuntimeSetupError(f"lite_run on {nb.name} failed (exit {r.returncode}): {r.tail(4)}")
        return np.fromfile(out, dtype=np.float32)
