"""The optimized program inside a Paddle-Lite `.nb` (meta version 2: a flatbuffers ProgramDesc, schema
`lite/model_parser/flatbuffers/framework.fbs` of v2.13-rc): block 0's ops in the order the runtime runs them, each
with its kernel key, inputs, outputs and the scalar/list attributes, plus the tensor dims of the variables.
Read with a small flatbuffers table reader (field indices from the schema); nothing is loaded or run."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from converter.nb.inspect import NbFormatError

_HEADER = struct.Struct("<H16sQ")
KERNEL_ATTR = "__@kernel_type_attr@__"
# framework.fbs field indices
_PROGRAM_BLOCKS = 0
_BLOCK_VARS, _BLOCK_OPS = 2, 3
_OP_TYPE, _OP_INPUTS, _OP_OUTPUTS, _OP_ATTRS = 0, 1, 2, 3
_VAR_PARAMETER, _VAR_ARGUMENTS = 0, 1
_ATTR_NAME, _ATTR_TYPE, _ATTR_I, _ATTR_F, _ATTR_S, _ATTR_INTS, _ATTR_B, _ATTR_L = 0, 1, 2, 3, 4, 5, 8, 11
_ATTR_INT, _ATTR_FLOAT, _ATTR_STRING, _ATTR_INTS_T, _ATTR_BOOLEAN, _ATTR_LONG = 0, 1, 2, 3, 6, 9
_VARDESC_NAME, _VARDESC_TYPE = 0, 1
_VARTYPE_LOD_TENSOR = 2
_LOD_TENSOR_TENSOR = 0
_TENSOR_DIMS = 1

Attr = int | float | str | bool | tuple[int, ...]


@dataclass(frozen=True)
class NbOp:
    index: int  # position in block 0: the runtime's order
    type: str
    kernel: str  # e.g. conv2d/def/4/1/1 (op/alias/target/precision/layout); "" when absent
    inputs: dict[str, tuple[str, ...]]
    outputs: dict[str, tuple[str, ...]]
    attrs: dict[str, Attr] = field(default_factory=dict)

    @property
    def precision(self) -> int | None:
        parts = self.kernel.split("/")
        return int(parts[3]) if len(parts) == 5 and parts[3].isdigit() else None

    @property
    def name(self) -> str:
        """The op's first output tensor: how the op is named in tables (Paddle names ops by it)."""
        for slot in ("Out", "Output", "Y"):
            if self.outputs.get(slot):
                return self.outputs[slot][0]
        first = next((v for v in self.outputs.values() if v), ())
        return first[0] if first else self.type


@dataclass(frozen=True)
class NbProgram:
    ops: tuple[NbOp, ...]
    dims: dict[str, tuple[int, ...]]  # variable -> tensor dims as stored (-1 for a free batch)


class _Buf:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def u32(self, pos: int) -> int:
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def field(self, table: int, index: int) -> int | None:
        """Absolute position of a table's field, or None when absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        vt_size = struct.unpack_from("<H", self.data, vtable)[0]
        slot = 4 + 2 * index
        if slot >= vt_size:
            return None
        off = struct.unpack_from("<H", self.data, vtable + slot)[0]
        return table + off if off else None

    def ref(self, pos: int) -> int:
        return pos + self.u32(pos)

    def table(self, table: int, index: int) -> int | None:
        pos = self.field(table, index)
        return None if pos is None else self.ref(pos)

    def string(self, table: int, index: int) -> str | None:
        pos = self.table(table, index)
        if pos is None:
            return None
        n = self.u32(pos)
        return self.data[pos + 4 : pos + 4 + n].decode("utf-8", errors="replace")

    def vector(self, table: int, index: int) -> tuple[int, int]:
        """(start of elements, count); (0, 0) when absent."""
        pos = self.table(table, index)
        return (0, 0) if pos is None else (pos + 4, self.u32(pos))

    def tables(self, table: int, index: int) -> list[int]:
        start, n = self.vector(table, index)
        return [self.ref(start + 4 * i) for i in range(n)]

    def strings(self, table: int, index: int) -> tuple[str, ...]:
        out = []
        for pos in self.tables(table, index):
            n = self.u32(pos)
            out.append(self.data[pos + 4 : pos + 4 + n].decode("utf-8", errors="replace"))
        return tuple(out)

    def scalar(self, table: int, index: int, fmt: str, default: int | float = 0) -> int | float:
        pos = self.field(table, index)
        if pos is None:
            return default
        value: int | float = struct.unpack_from("<" + fmt, self.data, pos)[0]
        return value

    def numbers(self, table: int, index: int, fmt: str) -> tuple[int, ...]:
        start, n = self.vector(table, index)
        return tuple(struct.unpack_from(f"<{n}{fmt}", self.data, start)) if n else ()


def _attr(buf: _Buf, t: int) -> Attr | None:
    kind = int(buf.scalar(t, _ATTR_TYPE, "i"))
    if kind == _ATTR_INT:
        return int(buf.scalar(t, _ATTR_I, "i"))
    if kind == _ATTR_LONG:
        return int(buf.scalar(t, _ATTR_L, "q"))
    if kind == _ATTR_FLOAT:
        return float(buf.scalar(t, _ATTR_F, "f"))
    if kind == _ATTR_STRING:
        return buf.string(t, _ATTR_S) or ""
    if kind == _ATTR_INTS_T:
        return buf.numbers(t, _ATTR_INTS, "i")
    if kind == _ATTR_BOOLEAN:
        return bool(buf.scalar(t, _ATTR_B, "B"))
    return None


def _slots(buf: _Buf, op: int, index: int) -> dict[str, tuple[str, ...]]:
    return {buf.string(v, _VAR_PARAMETER) or "": buf.strings(v, _VAR_ARGUMENTS) for v in buf.tables(op, index)}


def read_program(path: Path) -> NbProgram:
    """Block 0 of the .nb's program; NbFormatError naming the file when it is not a readable meta-2 .nb."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise NbFormatError(f"{path}: cannot be read: {e}") from e
    if len(data) < _HEADER.size:
        raise NbFormatError(f"{path}: too short for a Paddle-Lite .nb header")
    meta, _, size = _HEADER.unpack_from(data)
    if meta != 2 or _HEADER.size + size > len(data):
        raise NbFormatError(f"{path}: not a flatbuffers (meta version 2) Paddle-Lite .nb, or truncated")
    buf = _Buf(data[_HEADER.size : _HEADER.size + size])
    try:
        blocks = buf.tables(buf.ref(0), _PROGRAM_BLOCKS)
        if not blocks:
            raise NbFormatError(f"{path}: the program has no block")
        block = blocks[0]
        ops = []
        for i, op in enumerate(buf.tables(block, _BLOCK_OPS)):
            attrs: dict[str, Attr] = {}
            for a in buf.tables(op, _OP_ATTRS):
                value = _attr(buf, a)
                if value is not None:
                    attrs[buf.string(a, _ATTR_NAME) or ""] = value
            kernel = attrs.pop(KERNEL_ATTR, "")
            ops.append(
                NbOp(
                    index=i,
                    type=buf.string(op, _OP_TYPE) or "",
                    kernel=kernel if isinstance(kernel, str) else "",
                    inputs=_slots(buf, op, _OP_INPUTS),
                    outputs=_slots(buf, op, _OP_OUTPUTS),
                    attrs=attrs,
                )
            )
        dims: dict[str, tuple[int, ...]] = {}
        for v in buf.tables(block, _BLOCK_VARS):
            vtype = buf.table(v, _VARDESC_TYPE)
            lod = buf.table(vtype, _VARTYPE_LOD_TENSOR) if vtype is not None else None
            tensor = buf.table(lod, _LOD_TENSOR_TENSOR) if lod is not None else None
            if tensor is not None:
                dims[buf.string(v, _VARDESC_NAME) or ""] = buf.numbers(tensor, _TENSOR_DIMS, "q")
    except (struct.error, IndexError) as e:
        raise NbFormatError(f"{path}: corrupt program topology ({e})") from None
    return NbProgram(tuple(ops), dims)
