"""Where ncnn's ARM runtime built for QEMU lives: `$NCNN_RUNTIME_DIR`, else `../shared/ncnn-armv8` beside the
repository (`ncnn_run`: raw float32 in, raw float32 out, static). Its version is read from the program itself and
checked against the oldest runtime that loads what the toolkit's pnnx writes (converter.ncnn.export.MIN_RUNTIME),
as opt's version is checked against Paddle-Lite's."""

from __future__ import annotations

import os
import re
from pathlib import Path

from benchmark.emulated.guest import run_guest
from converter.base.errors import ToolkitError
from converter.ncnn.export import MIN_RUNTIME, version_key

REPO = Path(__file__).resolve().parents[2]
ENV = "NCNN_RUNTIME_DIR"


class NcnnRuntimeError(ToolkitError):
    """The ncnn ARM runtime is missing, or too old for the model files."""


def runtime_dir() -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else REPO.parent / "shared" / "ncnn-armv8"


def ncnn_run() -> Path:
    path = runtime_dir() / "ncnn_run"
    if not path.is_file():
        raise NcnnRuntimeError(f"{path} does not exist: set ${ENV} to an ncnn armv8 runtime folder (ncnn_run)")
    return path


def runtime_version(cpu: str = "max") -> str:
    """`ncnn_run --version`'s version string, checked: at least MIN_RUNTIME (names both on a mismatch)."""
    out = run_guest([str(ncnn_run()), "--version"], cpu=cpu, sysroot=None, count=False, timeout_s=120).stdout
    found = re.search(r"(\d+\.\d+\.\d{8})", out)
    if found is None:
        raise NcnnRuntimeError(f"{ncnn_run()} --version names no ncnn version: {out.strip()[:200]}")
    version = found.group(1)
    if version_key(version) < version_key(MIN_RUNTIME):
        raise NcnnRuntimeError(
            f"{ncnn_run()} is ncnn {version}, older than {MIN_RUNTIME}, the oldest that loads what the toolkit's pnnx "
            "writes (Reshape with batch axes): rebuild it from a newer ncnn (see its README)"
        )
    return version
