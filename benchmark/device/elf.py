"""The few ELF facts the toolkit needs from a runner or a native library, read without running it: the machine
(aarch64, arm, x86_64, x86) and the DT_NEEDED libraries."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MACHINES = {0x03: "x86", 0x28: "arm", 0x3E: "x86_64", 0xB7: "aarch64"}
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NEEDED, DT_STRTAB = 1, 5


@dataclass(frozen=True)
class Elf:
    machine: str  # aarch64 | arm | x86_64 | x86 | e_machine as hex
    needed: tuple[str, ...]
    load_align: tuple[int, ...] = ()  # p_align of each PT_LOAD segment (Android 15+ 16 KB pages need >= 16384)


def read_elf(data: bytes) -> Elf | None:
    """Machine and DT_NEEDED of a little-endian ELF file; None when `data` is not ELF (a script)."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[5] != 1:
        return None
    is64 = data[4] == 2
    (e_machine,) = struct.unpack_from("<H", data, 18)
    machine = MACHINES.get(e_machine, hex(e_machine))
    if is64:
        e_phoff, e_phentsize, e_phnum = struct.unpack_from("<Q", data, 32)[0], *struct.unpack_from("<HH", data, 54)
        ph_fmt, dyn_fmt = "<IIQQQQQQ", "<qQ"
    else:
        e_phoff, e_phentsize, e_phnum = struct.unpack_from("<I", data, 28)[0], *struct.unpack_from("<HH", data, 42)
        ph_fmt, dyn_fmt = "<IIIIIIII", "<iI"
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    aligns: list[int] = []
    dynamic: tuple[int, int] | None = None
    for i in range(e_phnum):
        fields = struct.unpack_from(ph_fmt, data, e_phoff + i * e_phentsize)
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = fields[:5]
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
            aligns.append(fields[7])
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return Elf(machine, (), tuple(aligns))  # static

    def file_offset(vaddr: int) -> int | None:
        for start, offset, size in loads:
            if start <= vaddr < start + size:
                return offset + vaddr - start
        return None

    entries: list[tuple[int, int]] = []
    step = struct.calcsize(dyn_fmt)
    for pos in range(dynamic[0], min(dynamic[0] + dynamic[1], len(data) - step + 1), step):
        tag, value = struct.unpack_from(dyn_fmt, data, pos)
        if tag == 0:
            break
        entries.append((tag, value))
    strtab = file_offset(next((v for t, v in entries if t == DT_STRTAB), -1))
    if strtab is None:
        return Elf(machine, (), tuple(aligns))
    needed = []
    for tag, value in entries:
        if tag == DT_NEEDED:
            end = data.index(b"\0", strtab + value)
            needed.append(data[strtab + value : end].decode(errors="replace"))
    return Elf(machine, tuple(needed), tuple(aligns))
