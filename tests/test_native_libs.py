"""The APK's native-library rules (android_demo.native_libs), fast: the real Paddle-Lite ARM runtime library from
../shared placed in APK-like zips the right way and the wrong ways."""

from __future__ import annotations

import zipfile
from pathlib import Path

from android_demo.native_libs import PAGE_BYTES, check_apk, data_offset, write_stored_aligned
from benchmark.device.elf import read_elf
from tests.conftest import SHARED, _shared_path

LIB = "libpaddle_light_api_shared.so"


def test_aligned_stored_library_passes_and_each_mistake_is_named(tmp_path: Path) -> None:
    lib = _shared_path("ARM_RUNTIME_DIR", SHARED / "paddle-lite-armv8")
    so = lib / "fp32" / LIB
    elf = read_elf(so.read_bytes())
    assert elf is not None and elf.machine == "aarch64"
    assert min(elf.load_align) >= PAGE_BYTES  # the shared runtime is linked with 64 KB segments

    good = tmp_path / "good.apk"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("classes.dex", b"dex\n035\0")  # something before it, so the padding has work to do
        write_stored_aligned(z, so, f"lib/arm64-v8a/{LIB}")
    with zipfile.ZipFile(good) as z:
        assert data_offset(good, z.getinfo(f"lib/arm64-v8a/{LIB}")) % PAGE_BYTES == 0
    assert check_apk(good, ("arm64-v8a",)) == []

    bad = tmp_path / "bad.apk"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("classes.dex", b"dex\n035\0")
        z.write(so, f"lib/arm64-v8a/{LIB}", compress_type=zipfile.ZIP_DEFLATED)
        z.write(so, f"lib/x86_64/{LIB}", compress_type=zipfile.ZIP_STORED)
        z.writestr("lib/arm64-v8a/libnot.so", b"not an elf")
    reasons = {str(p) for p in check_apk(bad, ("arm64-v8a",))}
    assert f"lib/arm64-v8a/{LIB}: stored compressed (must be stored uncompressed)" in reasons
    assert any(r.startswith(f"lib/x86_64/{LIB}: ABI folder x86_64 is not one the app lists") for r in reasons)
    assert any(r.startswith(f"lib/x86_64/{LIB}: built for aarch64, but it sits in lib/x86_64/") for r in reasons)
    assert any(r.startswith(f"lib/x86_64/{LIB}: its data starts at offset") for r in reasons)
    assert "lib/arm64-v8a/libnot.so: not an ELF shared library" in reasons
