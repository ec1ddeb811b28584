"""Namespace mode of the emulated device: a user + mount namespace (`unshare -U -r -m`, no root needed) in which
the device root gets the host's /usr, /etc (read-only), /dev and /proc, a fake /proc/cpuinfo, and read-only binds
of the Python prefixes its runner needs; every command then runs under `chroot ROOT /system/bin/sh -c CMD`, so
absolute Android paths are real paths and no host path leaks into output. Where the kernel refuses user
namespaces, the device falls back to plain mode (benchmark.emulated.sandbox)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from converter.base import process

log = logging.getLogger(__name__)
ENV_MARK = "PPLITE_EMULATED_NAMESPACE"
_REPO = Path(__file__).resolve().parents[2]


def namespace_available() -> bool:
    try:
        r = process.run(["unshare", "-U", "-r", "-m", "--propagation", "private", "true"], timeout_s=15)
    except OSError:
        return False
    return r.returncode == 0


def inside_namespace() -> bool:
    return os.environ.get(ENV_MARK) == "1"


def reexec_in_namespace(argv: list[str]) -> None:
    """Replace this process (same PID) with itself inside a new user + mount namespace."""
    os.environ[ENV_MARK] = "1"
    cmd = ["unshare", "-U", "-r", "-m", "--propagation", "private", sys.executable, "-m", "benchmark.emulated", *argv]
    os.execvp(cmd[0], cmd)


def _python_prefixes() -> list[Path]:
    """What the runner needs from the host, mounted read-only at the same paths: the venv, the base Python, the
    project (editable install)."""
    candidates = {
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        _REPO,
        Path(sys.executable).resolve().parent.parent,
    }
    keep = [p for p in candidates if not any(str(p).startswith(s) for s in ("/usr/", "/etc/")) and p != Path("/")]
    keep.sort(key=lambda p: len(p.parts))
    out: list[Path] = []
    for p in keep:
        if not any(p.is_relative_to(q) for q in out):
            out.append(p)
    return out


def _mount(*args: str) -> bool:
    r = process.run(["mount", *args], timeout_s=30)
    if r.returncode != 0:
        log.warning("mount %s failed: %s", " ".join(args), r.tail(2))
    return r.returncode == 0


def _bind(src: Path, dst: Path, *, read_only: bool) -> bool:
    dst.mkdir(parents=True, exist_ok=True)
    ok = _mount("--rbind", str(src), str(dst))
    if ok and read_only:
        _mount("-o", "remount,bind,ro", str(dst))  # best effort: locked flags may refuse it
    return ok


def setup_mounts(root: Path) -> dict[str, bool]:
    done: dict[str, bool] = {}
    for name in ("usr", "etc", "dev", "proc"):
        done[f"/{name}"] = _bind(Path("/") / name, root / name, read_only=name in ("usr", "etc"))
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        host = Path("/") / name
        target = root / name
        if host.is_symlink() and not target.exists():
            target.symlink_to(os.readlink(host))
        elif host.is_dir() and not host.is_symlink():
            done[f"/{name}"] = _bind(host, target, read_only=True)
    cpuinfo = root / "system/etc/cpuinfo"
    done["cpuinfo"] = cpuinfo.is_file() and _mount("--bind", str(cpuinfo), str(root / "proc/cpuinfo"))
    for prefix in _python_prefixes():
        done[str(prefix)] = _bind(prefix, root / str(prefix).lstrip("/"), read_only=True)
    log.info("namespace setup: %s", done)
    return done
