"""Native libraries in an APK the way Google Play takes them: since November 2025 a new app (or update) targeting
Android 15+ must support 16 KB memory pages, so every `lib/<abi>/*.so` needs PT_LOAD segments aligned to at least
16 KB and, stored uncompressed, its data at a 16 KB offset in the APK; and each library must be built for the ABI
folder it sits in (an x86 library under lib/arm64-v8a/ dies at load). Writing: a stored entry carries the zip
extra field 0xD935 (the alignment apksigner keeps) padded so its data starts on a 16 KB boundary."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmark.device.bundle import ABI_MACHINES
from benchmark.device.elf import read_elf

PAGE_BYTES = 16384
ALIGNMENT_EXTRA_ID = 0xD935  # Android's zip extra field: "align this entry's data to N bytes" (apksigner honours it)
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
FIX = (
    "Google Play refuses new apps whose native libraries are not 16 KB page aligned. Use a Paddle-Lite Android "
    "library linked with -Wl,-z,max-page-size=16384 (NDK r28+ does it by default; for Paddle-Lite 2.13 add the flag "
    "to the linker flags of lite/tools/build_android.sh and rebuild), then set PADDLE_LITE_ANDROID_DIR to it; "
    "--allow-4k-pages builds the APK anyway for side-loading and testing (not for Play)"
)


@dataclass(frozen=True)
class LibraryProblem:
    entry: str  # lib/<abi>/<name>.so
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


def write_stored_aligned(z: zipfile.ZipFile, source: Path, arcname: str, page_bytes: int = PAGE_BYTES) -> None:
    """Add `source` uncompressed, its data starting at a multiple of `page_bytes` (an 0xD935 extra field says so)."""
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    assert z.fp is not None
    start = z.fp.tell() + _LOCAL_HEADER.size + len(arcname.encode()) + 6  # header, name, extra id/size/alignment
    pad = -start % page_bytes
    info.extra = struct.pack("<HHH", ALIGNMENT_EXTRA_ID, 2 + pad, page_bytes) + b"\0" * pad
    z.writestr(info, source.read_bytes())


def data_offset(apk: Path, info: zipfile.ZipInfo) -> int:
    with apk.open("rb") as f:
        f.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
    name_len, extra_len = fields[-2], fields[-1]
    return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)


def check_apk(apk: Path, abis: tuple[str, ...]) -> list[LibraryProblem]:
    """Every native library of the APK that Play would refuse or that cannot load on its ABI, with why."""
    problems = []
    with zipfile.ZipFile(apk) as z:
        for info in z.infolist():
            parts = info.filename.split("/")
            if len(parts) != 3 or parts[0] != "lib" or not parts[2].endswith(".so"):
                continue
            abi = parts[1]
            elf = read_elf(z.read(info))
            if abi not in abis:
                problems.append(LibraryProblem(info.filename, f"ABI folder {abi} is not one the app lists ({abis})"))
            if elf is None:
                problems.append(LibraryProblem(info.filename, "not an ELF shared library"))
                continue
            if ABI_MACHINES.get(abi) != elf.machine:
                problems.append(LibraryProblem(info.filename, f"built for {elf.machine}, but it sits in lib/{abi}/"))
            small = sorted({a for a in elf.load_align if a < PAGE_BYTES})
            if small:
                aligned = ", ".join(f"{a // 1024} KB" if a >= 1024 else f"{a} bytes" for a in small)
                problems.append(
                    LibraryProblem(info.filename, f"not 16 KB page aligned: its LOAD segments are aligned to {aligned}")
                )
            if info.compress_type != zipfile.ZIP_STORED:
                problems.append(LibraryProblem(info.filename, "stored compressed (must be stored uncompressed)"))
            elif (offset := data_offset(apk, info)) % PAGE_BYTES:
                problems.append(
                    LibraryProblem(info.filename, f"its data starts at offset {offset}, not on a 16 KB boundary")
                )
    return problems
