"""Where the Paddle-Lite ARM runtime built for QEMU lives: `$ARM_RUNTIME_DIR`, else `../shared/paddle-lite-armv8`
beside the repository. It holds `fp32/` and `fp16/` builds of benchmark_bin (with their libpaddle_light_api_shared.so)
and QEMU's instruction-count plugin. ARM emulated phones take their default runner and their counter from here."""

from __future__ import annotations

import os
from pathlib import Path

from converter.errors import ToolkitError

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
