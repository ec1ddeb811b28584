"""Graph fix 7, fp16_gemv_tail: the ARM fp16 convolutions that read past their filter, and the rewrite that avoids them.

The rule (Paddle-Lite v2.13-rc, docs/parity.md, measured with one-conv programs on the real ARM fp16 runtime): a 1x1
convolution (groups 1, stride 1, no padding) whose output is 1 x 1 in space, as a squeeze-excitation block's after
its global pooling, runs `gemv_fp16`. That kernel reads each filter row in steps of 16 values, and replaces only the
last row by a zero-padded copy when the output channels M are not a multiple of 8 (4 on armv7). With M % 8 == 0 and
the input channels K % 16 != 0, row M - 1 is read up to 15 values past the end of the filter buffer: whatever the
heap holds there times the input's zero padding. When those bytes are an fp16 inf/NaN pattern, output channel M - 1
is NaN, on every input; which models hit it depends on their weights and the allocator, not on the photo.

The rewrite: the convolution reads its input twice side by side (concat on the width axis, 1 x 2), which sends it
to the prepacked GEMM path with its padded weights, and a slice keeps column 0 after the convolution and its bias
add. The arithmetic is the same (each column is the same dot product), nothing in the parameters changes, and the
two extra ops are on a 1 x 1 tensor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from converter.opt.needs import var_dims

# framework.proto AttrType
_INT, _STRING, _INTS = 0, 2, 3
FP16_ROWS_PER_BLOCK = 8  # gemv_fp16's output rows per block on aarch64 (armv7: 4)
FP16_K_STEP = 16  # its fp16 values per row per step


@dataclass(frozen=True)
class GemvTailConv:
    """One convolution that matches the rule."""

    index: int  # the op's position in block 0
    output: str  # the tensor it writes
    out_channels: int
    in_channels: int

    @property
    def overread_values(self) -> int:
        return -self.in_channels % FP16_K_STEP

    def describe(self) -> str:
        return (
            f"conv2d -> {self.output} ({self.in_channels} -> {self.out_channels} channels on a 1x1 input: the ARM fp16 "
            f"kernel reads {self.overread_values} value(s) past its filter for output channel {self.out_channels - 1})"
        )


def _slot(slots: Any, name: str) -> list[str]:
    for s in slots:
        if s.parameter == name:
            return list(s.arguments)
    return []


def _attr(op: Any, name: str, default: Any) -> Any:
    for a in op.attrs:
        if a.name == name:
            return list(a.ints) if a.type == _INTS else a.s if a.type == _STRING else a.i
    return default


def matching_convs(block: Any, dims: dict[str, list[int]]) -> list[GemvTailConv]:
    """The convolutions of `block` that match the rule at the static dims `dims` (converter.program.static_shapes)."""
    found = []
    for i, op in enumerate(block.ops):
        if op.type != "conv2d":
            continue
        x, w, out = _slot(op.inputs, "Input"), _slot(op.inputs, "Filter"), _slot(op.outputs, "Output")
        fdims = var_dims(block, w[0]) if len(w) == 1 else None
        if len(x) != 1 or len(out) != 1 or fdims is None or len(fdims) != 4 or fdims[2:] != [1, 1]:
            continue
        plain = _attr(op, "groups", 1) == 1 and _attr(op, "strides", [1, 1]) == [1, 1]
        plain = plain and not any(_attr(op, "paddings", [0, 0])) and _attr(op, "dilations", [1, 1]) == [1, 1]
        plain = plain and _attr(op, "data_format", "NCHW") in ("NCHW", "AnyLayout")  # the dims read below are NCHW
        xdims = dims.get(x[0])
        if not plain or xdims is None or len(xdims) != 4 or xdims[2:] != [1, 1]:
            continue
        m, k = fdims[0], fdims[1]
        if m % FP16_ROWS_PER_BLOCK == 0 and k % FP16_K_STEP != 0:
            found.append(GemvTailConv(i, out[0], m, k))
    return found


def _var(block: Any, name: str, like: str, dims: list[int]) -> None:
    """Declare tensor `name` as a copy of `like`'s declaration with `dims`."""
    proto = next((v for v in block.vars if v.name == like), None)
    new = block.vars.add()
    if proto is not None:
        new.CopyFrom(proto)
        new.persistable = False
    new.name = name
    del new.type.lod_tensor.tensor.dims[:]
    new.type.lod_tensor.tensor.dims.extend(dims)


def _set_dims(block: Any, name: str, dims: list[int]) -> None:
    for v in block.vars:
        if v.name == name and v.type.HasField("lod_tensor"):
            del v.type.lod_tensor.tensor.dims[:]
            v.type.lod_tensor.tensor.dims.extend(dims)


def _op(
    block: Any, kind: str, inputs: dict[str, list[str]], outputs: dict[str, list[str]], ints: dict[str, Any]
) -> Any:
    op = type(block.ops[0])()
    op.type = kind
    for slots, given in ((op.inputs, inputs), (op.outputs, outputs)):
        for k, names in given.items():
            s = slots.add()
            s.parameter = k
            s.arguments.extend(names)
    for k, value in ints.items():
        a = op.attrs.add()
        a.name = k
        if isinstance(value, list):
            a.type = _INTS
            a.ints.extend(value)
        else:
            a.type, a.i = _INT, value
    return op


def _bias_add(block: Any, conv_out: str) -> int | None:
    """The op that adds the conv's bias (its only reader, elementwise_add on axis 1 with a parameter), if any."""
    readers = [i for i, op in enumerate(block.ops) for s in op.inputs if conv_out in s.arguments]
    if len(readers) != 1:
        return None
    op = block.ops[readers[0]]
    y = _slot(op.inputs, "Y")
    persistable = len(y) == 1 and any(v.name == y[0] and v.persistable for v in block.vars)
    ok = op.type == "elementwise_add" and _slot(op.inputs, "X") == [conv_out] and _attr(op, "axis", -1) == 1
    return readers[0] if ok and persistable else None


def fix_gemv_tail(block: Any, dims: dict[str, list[int]]) -> int:
    """Rewrite every matching convolution (see the module doc); how many were rewritten."""
    found = matching_convs(block, dims)
    if not found:
        return 0
    ops = list(block.ops)
    before: dict[int, Any] = {}  # op index -> the op to insert before it
    after: dict[int, Any] = {}  # op index -> the op to insert after it
    for conv in found:
        op = ops[conv.index]
        x = _slot(op.inputs, "Input")[0]
        n = dims[x][0]
        doubled = f"{x}.gemv_tail_{conv.index}"
        _var(block, doubled, x, [n, conv.in_channels, 1, 2])
        before[conv.index] = _op(block, "concat", {"X": [x, x]}, {"Out": [doubled]}, {"axis": 3})
        for s in op.inputs:
            if s.parameter == "Input":
                s.arguments[:] = [doubled]
        last = _bias_add(block, conv.output)
        if last is not None:  # the conv's own output is now the wide one; the add's output is sliced
            _set_dims(block, conv.output, [n, conv.out_channels, 1, 2])
        end = conv.index if last is None else last
        tensor = _slot(ops[end].outputs, "Out" if last is not None else "Output")[0]
        wide = f"{tensor}.gemv_tail_wide"
        _var(block, wide, tensor, [n, conv.out_channels, 1, 2])
        for s in ops[end].outputs:
            s.arguments[:] = [wide if a == tensor else a for a in s.arguments]
        keep_first = {"axes": [3], "starts": [0], "ends": [1], "infer_flags": [1], "decrease_axis": []}
        after[end] = _op(block, "slice", {"Input": [wide]}, {"Out": [tensor]}, keep_first)
    rewritten = []
    for i, op in enumerate(ops):
        rewritten += [before[i]] if i in before else []
        rewritten.append(op)
        rewritten += [after[i]] if i in after else []
    del block.ops[:]
    block.ops.extend(rewritten)
    return len(found)
