"""Reads a Paddle-Lite `.nb` without loading it: header (meta version, opt version) and, from the kernel keys in
the flatbuffers topology (`op/alias/target/precision/layout`, e.g. `conv2d/def/4/1/1`), the target and the op list.

Loading an ARM `.nb` in the x86 runtime segfaults, so every runner checks the target here first.
Layout (Paddle-Lite model_parser.cc SaveModelNaive): uint16 meta_version, char[16] opt version,
uint64 topology size, topology, params.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from converter.base.errors import ToolkitError

_HEADER = struct.Struct("<H16sQ")
INT8_PRECISION = 2  # paddle_place.h PrecisionType kInt8 (kFloat 1, kFP16 5)
# paddle_place.h TargetType
TARGET_NAMES = {
    0: "unk",
    1: "host",
    2: "x86",
    3: "cuda",
    4: "arm",
    5: "opencl",
    6: "any",
    7: "fpga",
    8: "npu",
    9: "xpu",
    10: "bm",
    11: "mlu",
    12: "rknpu",
    13: "apu",
    14: "huawei_ascend_npu",
    15: "imagination_nna",
    16: "intel_fpga",
    17: "metal",
    18: "nnadapter",
}
_GENERIC = {"host", "any", "unk"}
_KEY_RE = re.compile(rb"([a-z][a-z0-9_]{0,63})/([A-Za-z0-9_]{1,64})/(\d{1,2})/(\d{1,2})/(\d{1,2})\x00")


class NbFormatError(ToolkitError):
    """The file is not a readable Paddle-Lite naive-buffer model."""


@dataclass(frozen=True)
class NbInfo:
    path: Path
    size_bytes: int
    meta_version: int
    opt_version: str
    targets: tuple[str, ...]  # device targets found in kernel keys (host/any excluded)
    op_counts: dict[str, int]
    int8_kernels: int = 0  # kernels of precision kInt8 (2), calib conversions excluded: full int8 convolutions

    @property
    def target(self) -> str:
        """'arm', 'x86', ... ; 'mixed' when several device targets appear, 'host' when only host kernels do."""
        if len(self.targets) == 1:
            return self.targets[0]
        return "mixed" if self.targets else "host"

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "meta_version": self.meta_version,
            "opt_version": self.opt_version,
            "target": self.target,
            "op_counts": self.op_counts,
            "int8_kernels": self.int8_kernels,
        }


def inspect_nb(path: Path) -> NbInfo:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NbFormatError(f"{path}: no such file") from None
    except OSError as e:
        raise NbFormatError(f"{path}: cannot be read: {e}") from e
    if len(data) < _HEADER.size:
        raise NbFormatError(f"{path}: {len(data)} bytes is too short for a Paddle-Lite .nb header")
    meta, ver_raw, topo_size = _HEADER.unpack_from(data)
    if meta == 0:
        raise NbFormatError(
            f"{path}: meta version 0 is the pre-v2.7 .nb format, which current runtimes refuse; re-run opt on the "
            "original Paddle model"
        )
    if meta not in (1, 2):
        raise NbFormatError(f"{path}: not a Paddle-Lite .nb (header meta version {meta}, expected 1 or 2)")
    opt_version = ver_raw.split(b"\x00", 1)[0].decode("ascii", errors="replace")
    end = _HEADER.size + topo_size
    if topo_size == 0 or end > len(data):
        raise NbFormatError(
            f"{path}: truncated or corrupt: the header announces a {topo_size}-byte topology but the file has "
            f"{len(data)} bytes"
        )
    topology = data[_HEADER.size : end]
    ops: Counter[str] = Counter()
    int8 = 0
    targets: set[str] = set()
    for m in _KEY_RE.finditer(topology):
        start = m.start()
        # flatbuffers strings are a uint32 length, the bytes, then NUL: check the length to reject substrings.
        if start < 4 or struct.unpack_from("<I", topology, start - 4)[0] != m.end() - 1 - start:
            continue
        ops[m.group(1).decode()] += 1
        if int(m.group(4)) == INT8_PRECISION and m.group(1) != b"calib":
            int8 += 1
        target = TARGET_NAMES.get(int(m.group(3)), f"target{int(m.group(3))}")
        if target not in _GENERIC:
            targets.add(target)
    if not ops:
        raise NbFormatError(f"{path}: no kernel keys found in the topology; the file is corrupt or not a .nb")
    return NbInfo(
        path=path,
        size_bytes=len(data),
        meta_version=meta,
        opt_version=opt_version,
        targets=tuple(sorted(targets)),
        op_counts=dict(sorted(ops.items())),
        int8_kernels=int8,
    )
