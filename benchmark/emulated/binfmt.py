"""aarch64 programs on the ARM emulated phone: qemu-aarch64 registered in the device's own binfmt_misc.

Linux >= 6.7 gives each user namespace its own binfmt_misc instance when one is mounted inside it, so the device
process (already in its user + mount namespace, see benchmark.emulated.namespace) registers qemu-aarch64 there:
every aarch64 ELF executed by the device's shell then runs under QEMU, exactly as on a Linux host with
qemu-user-binfmt, and nothing is registered for the rest of the machine. QEMU takes its settings from the
environment the device's shell sets (QEMU_CPU, QEMU_LD_PREFIX), as it does when binfmt_misc starts it."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

from benchmark.emulated.phone import Qemu
from converter.base import process
from converter.base.errors import ToolkitError

# The ELF header of a little-endian 64-bit aarch64 executable or shared object (e_machine 0xb7), as Debian's
# qemu-user-binfmt registers it; the mask lets e_type be ET_EXEC (2) or ET_DYN (3, PIE).
MAGIC = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
MASK = b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"
ENTRY = "pplite-aarch64"
MOUNT_DIR = "system/emulator/binfmt_misc"  # under the device's root: removed with it, never left in the host's /tmp
CROSS_PACKAGES = "qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libgomp1-arm64-cross"


class QemuSetupError(ToolkitError):
    """The ARM emulated phone cannot run aarch64 programs on this host."""


def qemu_binary() -> Path:
    """The dynamic qemu-aarch64 of Debian's qemu-user (the static one cannot load the instruction-count plugin)."""
    found = shutil.which("qemu-aarch64")
    if found is None:
        raise QemuSetupError(
            f"qemu-aarch64 is not installed; the ARM emulated phone needs: apt-get install {CROSS_PACKAGES}"
        )
    return Path(found).resolve()


def check_host(qemu: Qemu) -> Path:
    """qemu-aarch64 and the aarch64 runtime libraries are there; returns QEMU's path."""
    binary = qemu_binary()
    if not (Path(qemu.sysroot) / "lib" / "ld-linux-aarch64.so.1").exists():
        raise QemuSetupError(
            f"{qemu.sysroot} holds no aarch64 runtime (lib/ld-linux-aarch64.so.1); "
            f"the ARM emulated phone needs: apt-get install {CROSS_PACKAGES}"
        )
    return binary


def _escape(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def register(qemu: Qemu, root: Path) -> Path:
    """Mount a binfmt_misc instance for this user namespace at the device root's MOUNT_DIR and register qemu-aarch64
    in it ('F': the interpreter is opened now, so it runs inside the device's chroot too). Call inside the device's
    user + mount namespace; the mount lives only there, the empty directory goes with the device's root."""
    binary = check_host(qemu)
    mount_point = root / MOUNT_DIR
    mount_point.mkdir(parents=True, exist_ok=True)
    r = process.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(mount_point)], timeout_s=30)
    if r.returncode != 0:
        raise QemuSetupError(
            f"this kernel ({platform.release()}) gives no binfmt_misc to a user namespace (Linux >= 6.7 does): "
            f"the ARM emulated phone cannot run aarch64 programs here ({r.tail(1)})"
        )
    rule = f":{ENTRY}:M::{_escape(MAGIC)}:{_escape(MASK)}:{binary}:F"
    try:
        (mount_point / "register").write_text(rule)
    except OSError as e:
        raise QemuSetupError(f"registering qemu-aarch64 in binfmt_misc failed: {e.strerror or e}") from None
    return mount_point


def shell_env(qemu: Qemu) -> dict[str, str]:
    """What the device's shell exports for QEMU (read by qemu-aarch64 when binfmt_misc starts it)."""
    return {"QEMU_CPU": qemu.cpu, "QEMU_LD_PREFIX": qemu.sysroot}
