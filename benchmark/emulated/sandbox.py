"""How an emulated device runs commands and maps paths.

Plain mode (always available): `/bin/sh -c CMD` with cwd = the device root, and absolute Android prefixes in the
command text (/data, /sdcard, /sys, /system, /vendor, /proc/cpuinfo) rewritten to the device root. The rewrite is
crude: output may show host paths. Namespace mode (see benchmark.emulated.namespace) chroots instead.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
_PREFIXES = re.compile(r"(?<![\w./-])(/data|/sdcard|/sys|/system|/vendor|/proc/cpuinfo)(?=[/\s'\";|&)]|$)")


@dataclass(frozen=True)
class Sandbox:
    root: Path
    chroot: bool = False  # True inside the namespace mode's mount namespace
    env: dict[str, str] = field(default_factory=dict)  # exported to every command (QEMU_* on an ARM phone)

    def host_path(self, device_path: str) -> Path:
        """Device path -> host path, never outside the root."""
        clean = posixpath.normpath("/" + device_path.lstrip("/"))
        return self.root / clean.lstrip("/")

    def command(self, cmd: str) -> tuple[list[str], str, dict[str, str]]:
        env = {
            "ANDROID_EMU_ROOT": "/" if self.chroot else str(self.root),
            "HOME": "/data/local/tmp" if self.chroot else str(self.root / "data/local/tmp"),
            "TMPDIR": "/data/local/tmp" if self.chroot else str(self.root / "data/local/tmp"),
            "LANG": "C.UTF-8",
            **self.env,
        }
        if self.chroot:
            env["PATH"] = "/system/bin:/usr/local/bin:/usr/bin:/bin"
            return [CHROOT, str(self.root), "/system/bin/sh", "-c", cmd], "/", env
        env["PATH"] = f"{self.root / 'system/bin'}:/usr/local/bin:/usr/bin:/bin"
        mapped = _PREFIXES.sub(lambda m: str(self.root) + m.group(1), cmd)
        return ["/bin/sh", "-c", mapped], str(self.root), {**_passthrough(), **env}


def _passthrough() -> dict[str, str]:
    keep = ("PYTHONPATH", "VIRTUAL_ENV", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    return {k: v for k, v in os.environ.items() if k in keep}
