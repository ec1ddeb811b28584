"""The `insnprofile` QEMU plugin (insnprofile.c beside this file), compiled with the host's gcc on first use into
build/qemu-plugins/ (one file per source hash, so an edited source is rebuilt), like the runtime folder's insncount."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from converter.base import process
from converter.base.errors import ToolkitError

SOURCE = Path(__file__).with_name("insnprofile.c")
CACHE_SOURCE = Path(__file__).with_name("cachesim.c")
HEADER = Path(__file__).with_name("plugin_markers.h")  # what both plugins include
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "build" / "qemu-plugins"
LIB_NAME = "libpaddle_light_api_shared.so"  # the runtime library whose kernels the markers name


class PluginBuildError(ToolkitError):
    """The profile plugin could not be compiled (no gcc, or a compile error)."""


def profile_plugin(cache: Path = CACHE, timeout_s: float = 120, source: Path = SOURCE) -> Path:
    """The compiled plugin (insnprofile.c, or `source`), built now if this source version has not been."""
    digest = hashlib.sha256(source.read_bytes() + HEADER.read_bytes()).hexdigest()[:12]  # a changed header rebuilds
    out = cache / f"lib{source.stem}-{digest}.so"
    if out.is_file():
        return out
    gcc = shutil.which("gcc")
    if gcc is None:
        raise PluginBuildError(
            f"the ARM cost profile needs gcc to build its QEMU plugin from {source.name}: apt-get install gcc"
        )
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")  # two processes may build at once
    r = process.run(
        [gcc, "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-o", str(tmp), str(source)],
        timeout_s=timeout_s,
    )
    if r.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise PluginBuildError(f"gcc could not build {source} (exit {r.returncode}): {r.tail(6)}")
    tmp.replace(out)
    return out
