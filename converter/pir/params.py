"""A `.pdiparams` file checked against the PIR program that declares its tensors, without Paddle.

The file is Paddle's documented tensor serialization, one tensor after another: uint32 version, uint64 LoD level
count and each level (uint64 byte size + data), uint32 tensor version, int32 size of a `TensorDesc` protobuf
(field 1: data type, field 2: dims), then the raw data. Paddle 3.3.1's `paddle.jit.save` writes the parameters
sorted by name (measured on 24 exports: the program's declaration order does not match the file, the name order
does), which is also the order in which Paddle 2.6 Inference and opt read a combined parameter file: the translated
program therefore uses the file as it is, once every tensor's type, shape and size match the program's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from converter.pir.json_format import TensorType
from converter.sources.model_format import ModelFormatError

# framework.proto VarType.Type -> (name, bytes per element)
_VAR_TYPES = {
    0: ("bool", 1),
    1: ("int16", 2),
    2: ("int32", 4),
    3: ("int64", 8),
    4: ("float16", 2),
    5: ("float32", 4),
    6: ("float64", 8),
    20: ("uint8", 1),
    21: ("int8", 1),
    22: ("bfloat16", 2),
}


@dataclass
class ParamsMismatch(ModelFormatError):
    """A .pdiparams file that does not hold the tensors its program declares."""

    params_file: Path
    detail: str
    parameter: str | None = None

    def __str__(self) -> str:
        where = f" (parameter {self.parameter})" if self.parameter else ""
        return (
            f"{self.params_file}: {self.detail}{where}; it does not belong to this program: copy the program "
            "(.json) and the .pdiparams written by the same export"
        )


@dataclass(frozen=True)
class StoredTensor:
    dtype: str
    dims: tuple[int, ...]
    offset: int  # of the raw data
    size_bytes: int


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _tensor_desc(desc: bytes) -> tuple[int, tuple[int, ...]]:
    i, dtype, dims = 0, -1, []
    while i < len(desc):
        key, i = _varint(desc, i)
        field, wire = key >> 3, key & 7
        if field == 1 and wire == 0:
            dtype, i = _varint(desc, i)
        elif field == 2 and wire == 0:
            d, i = _varint(desc, i)
            dims.append(d - (1 << 64) if d >= 1 << 63 else d)
        elif field == 2 and wire == 2:
            length, i = _varint(desc, i)
            end = i + length
            while i < end:
                d, i = _varint(desc, i)
                dims.append(d - (1 << 64) if d >= 1 << 63 else d)
        else:
            raise ValueError(f"unexpected TensorDesc field {field} (wire type {wire})")
    return dtype, tuple(dims)


def read_tensor_headers(path: Path) -> list[StoredTensor]:
    """Every tensor of a combined parameter file, in file order; ParamsMismatch when the file is not one."""
    data = path.read_bytes()
    out: list[StoredTensor] = []
    off = 0
    try:
        while off < len(data):
            (_version,) = struct.unpack_from("<I", data, off)
            (lod_levels,) = struct.unpack_from("<Q", data, off + 4)
            off += 12
            for _ in range(lod_levels):
                (size,) = struct.unpack_from("<Q", data, off)
                off += 8 + size
            (_tensor_version, desc_size) = struct.unpack_from("<Ii", data, off)
            off += 8
            dtype_id, dims = _tensor_desc(data[off : off + desc_size])
            off += desc_size
            name, width = _VAR_TYPES[dtype_id]
            count = 1
            for d in dims:
                count *= d
            out.append(StoredTensor(name, dims, off, count * width))
            off += count * width
    except (struct.error, IndexError, KeyError, ValueError) as e:
        raise ParamsMismatch(path, f"tensor {len(out)} cannot be read ({type(e).__name__}: {e})") from None
    if off != len(data):
        raise ParamsMismatch(path, f"the file ends inside tensor {len(out)} (truncated)")
    return out


def check_params(path: Path, declared: list[tuple[str, TensorType]]) -> int:
    """Check that `path` holds exactly the program's parameters, in name order; returns the byte size of their data."""
    stored = read_tensor_headers(path)
    wanted = sorted(declared)
    if len(stored) != len(wanted):
        raise ParamsMismatch(path, f"it holds {len(stored)} tensors, the program declares {len(wanted)} parameters")
    for (name, want), got in zip(wanted, stored, strict=True):
        if got.dtype != want.dtype or got.dims != want.dims:
            raise ParamsMismatch(
                path,
                f"a tensor is {got.dtype}{list(got.dims)}, the program declares {want.dtype}{list(want.dims)}",
                name,
            )
    return sum(t.size_bytes for t in stored)
