"""Where each Paddle-Lite kernel starts in a (stripped) `libpaddle_light_api_shared.so`: the library keeps RTTI, so
each kernel class's vtable is found through its typeinfo name (`N6paddle4lite7kernels...`), and slot 2 of the vtable
is `KernelBase::Run()` (lite/core/kernel.h: PrepareForRun, ReInitWhenNeeded, Run, ...). The exported functions
(`RuntimeProgram::Run`, the public API) are markers too: they close the last op of an inference. Markers are file
offsets, which is what the `insnprofile` QEMU plugin matches. The one module that reads ELF files with pyelftools."""

from __future__ import annotations

import hashlib
import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

from converter.base.errors import ToolkitError

RUN_SLOT = 2
R_AARCH64_RELATIVE = 1027
PROGRAM_RUN = "_ZN6paddle4lite14RuntimeProgram3RunEv"
_KERNEL_TYPEINFO = b"N6paddle4lite7kernels"
_HELPER_PREFIXES = ("_ZN6paddle4lite3arm", "_ZN6paddle4lite4host", "_ZN6paddle4lite3x86")


class KernelMapError(ToolkitError):
    """The runtime library cannot be mapped: not an aarch64 ELF, no RTTI, no RuntimeProgram::Run."""


@dataclass(frozen=True)
class Marker:
    kind: str  # kernel | helper (an exported paddle::lite::<target>::math function) | program_run | api
    names: tuple[str, ...]  # kernel classes (several when the linker folded identical Run()s), or the symbol


@dataclass(frozen=True)
class KernelMap:
    library: str
    sha256: str
    markers: dict[int, Marker]  # file offset -> marker

    def markers_text(self) -> str:
        return "".join(f"{off:x}\n" for off in sorted(self.markers))


def class_name(typeinfo_name: str) -> str:
    """`N6paddle4lite7kernels3arm12GemmLikeConvILNS_...EEE` -> `arm::GemmLikeConv<...>`, readable enough."""
    rest = typeinfo_name[len(_KERNEL_TYPEINFO) :]
    parts = []
    while rest and rest[0].isdigit():
        n = int(re.match(r"\d+", rest).group())  # type: ignore[union-attr]
        digits = len(str(n))
        parts.append(rest[digits : digits + n])
        rest = rest[digits + n :]
    precisions = re.findall(r"PrecisionTypeE(\d)", rest) + re.findall(r"LS\d_(\d)", rest)
    label = "::".join(parts)
    return label + (f"<{','.join(precisions)}>" if precisions else "")


def _offsets(elf: ELFFile) -> list[tuple[int, int, int]]:
    return [(s["p_vaddr"], s["p_offset"], s["p_filesz"]) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]


def _to_offset(loads: list[tuple[int, int, int]], vaddr: int) -> int | None:
    for v, o, n in loads:
        if v <= vaddr < v + n:
            return vaddr - v + o
    return None


_CACHE: dict[str, KernelMap] = {}


def _read(path: str, sha: str, data: bytes) -> KernelMap:
    with io.BytesIO(data) as f:
        try:
            elf = ELFFile(f)
            if elf["e_machine"] != "EM_AARCH64":
                raise KernelMapError(f"{path}: not an aarch64 library ({elf['e_machine']})")
            relative: dict[int, int] = {}
            for sec in elf.iter_sections():
                if isinstance(sec, RelocationSection) and sec.is_RELA():
                    for r in sec.iter_relocations():
                        if r["r_info_type"] == R_AARCH64_RELATIVE:
                            relative[r["r_offset"]] = r["r_addend"]
            loads = _offsets(elf)
            dynsym = elf.get_section_by_name(".dynsym")
            exported = [
                (s.name, s["st_value"])
                for s in (dynsym.iter_symbols() if isinstance(dynsym, SymbolTableSection) else [])
                if s["st_info"]["type"] == "STT_FUNC" and s["st_shndx"] != "SHN_UNDEF" and s["st_value"]
            ]
        except ELFError as e:
            raise KernelMapError(f"{path}: not a readable ELF library ({e})") from None

    def cstring(vaddr: int) -> bytes | None:
        off = _to_offset(loads, vaddr)
        if off is None:
            return None
        end = data.find(b"\0", off, off + 512)
        return data[off:end] if end > 0 else None

    typeinfos = {}
    for where, target in relative.items():
        s = cstring(target)
        if s is not None and s.startswith(_KERNEL_TYPEINFO):
            typeinfos[where - 8] = s.decode("ascii", errors="replace")
    markers: dict[int, Marker] = {}
    for where, target in relative.items():
        if target not in typeinfos:
            continue
        top = _to_offset(loads, where - 8)
        if top is None or struct.unpack_from("<q", data, top)[0] != 0:
            continue  # not a primary vtable (offset-to-top 0, then the typeinfo pointer)
        run = relative.get(where + 8 * (1 + RUN_SLOT))
        off = _to_offset(loads, run) if run else None
        if off is None:
            continue
        old = markers.get(off)
        names = (*(old.names if old else ()), class_name(typeinfos[target]))
        markers[off] = Marker("kernel", tuple(sorted(set(names))))
    if not markers:
        raise KernelMapError(f"{path}: no Paddle-Lite kernel vtables found (a library built without RTTI?)")
    for name, vaddr in exported:
        off = _to_offset(loads, vaddr)
        if off is not None and off not in markers:
            kind = "program_run" if name == PROGRAM_RUN else "helper" if name.startswith(_HELPER_PREFIXES) else "api"
            markers[off] = Marker(kind, (name,))
    if not any(m.kind == "program_run" for m in markers.values()):
        raise KernelMapError(f"{path}: exports no paddle::lite::RuntimeProgram::Run(), which marks each inference")
    return KernelMap(library=path, sha256=sha, markers=markers)


def kernel_map(library: Path, data: bytes | None = None) -> KernelMap:
    """Markers of one runtime library (its bytes, when already read); KernelMapError naming it when it cannot be
    mapped. Cached by content."""
    try:
        data = library.read_bytes() if data is None else data
    except OSError as e:
        raise KernelMapError(f"{library}: cannot be read: {e}") from None
    sha = hashlib.sha256(data).hexdigest()
    if sha not in _CACHE:
        _CACHE[sha] = _read(str(library), sha, data)
    return _CACHE[sha]
