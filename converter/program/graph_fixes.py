"""Pre-opt graph fixes: rewrite a Paddle inference program (Paddle's own framework proto) into forms Paddle-Lite
2.13's opt fuses, without touching any parameter.

1. conv_bias_reshape: Paddle >= 2.5 exports every conv bias as `reshape2(bias[C] -> [1, C, 1, 1])` (a translated
   Paddle 3 export: [1, -1, 1, 1]) followed by `elementwise_add(x, reshaped, axis=-1)`; Paddle <= 2.4 wrote
   `elementwise_add(x, bias, axis=1)`, the only form opt's conv + bias (+ batch_norm + activation) fusions recognise.
   The reshape2 goes, the add takes the bias with axis=1 (../shared/docs/host-performance.md, pitfall 3).
2. inference_dropout: `dropout` with is_test and upscale_in_train (or probability 0) is the identity at inference;
   its consumers read its input instead. (downgrade_in_infer scales by 1 - p and is kept.)
3. attribute_default: an attribute opt 2.13 reads unconditionally and Paddle 2.6 leaves out of its exports (relu6's
   threshold, swish's beta, ...) is added with Paddle's own documented default (converter.opt.needs.py).
4. xshape_output: the XShape output slot Paddle 2.6 drops and opt's kernels bind, given back (converter/opt/needs.py).
5. static_interp_size: in a fixed-shape export, `bilinear/nearest_interp_v2` sized at run time by
   `cast(slice(shape(t))[2:])` of a tensor whose dims the program records as static gets `out_h`/`out_w`
   attributes; the shape/slice/cast chain, now unread, is removed.
6. static_reshape_shape: a reshape2 shaped at run time by fill_constant/slice(shape(t)) tensors gets its shape as an
   attribute when the model's fixed input shape determines it, so opt fuses channel shuffles
   (converter/program/static_shapes.py).
7. fp16_gemv_tail: a 1x1 convolution on a 1x1 input with output channels % 8 == 0 and input channels % 16 != 0,
   which the ARM fp16 kernel computes by reading past its filter (NaN in the last channel), reads its input twice
   side by side and is sliced back (converter/program/gemv_tail.py). Needs the fixed input shape.

Only exact matches are rewritten: a reshaped bias read twice, a shape given by tensors, an add on another axis, a
dropout whose output is fetched, are all left alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from converter.opt.needs import FilledAttr, add_xshape, fill_defaults, var_dims
from converter.program.gemv_tail import fix_gemv_tail
from converter.program.static_shapes import fix_static_reshape, static_dims
from converter.sources.model_format import ModelFormatError

# rewrites any export may get because of a runtime kernel, not because of the form its Paddle version wrote
KERNEL_WORKAROUNDS = frozenset({"fp16_gemv_tail"})

# framework.proto AttrType
_INT, _FLOAT, _STRING, _INTS, _BOOLEAN, _LONG = 0, 1, 2, 3, 6, 9


@dataclass
class FixResult:
    program: bytes  # the rewritten program (the input bytes when nothing matched)
    rewrites: dict[str, int] = field(default_factory=dict)
    ops_before: int = 0
    ops_after: int = 0
    filled: list[FilledAttr] = field(default_factory=list)  # attributes opt needs, added with Paddle's default

    @property
    def total(self) -> int:
        return sum(self.rewrites.values())


def _attr(op: Any, name: str) -> Any:
    for a in op.attrs:
        if a.name != name:
            continue
        if a.type in (_INT,):
            return a.i
        if a.type == _FLOAT:
            return a.f
        if a.type == _STRING:
            return a.s
        if a.type == _INTS:
            return list(a.ints)
        if a.type == _BOOLEAN:
            return a.b
        if a.type == _LONG:
            return a.l
    return None


def _set_int_attr(op: Any, name: str, value: int) -> None:
    for a in op.attrs:
        if a.name == name:
            a.type = _INT
            a.i = value
            return
    a = op.attrs.add()
    a.name, a.type, a.i = name, _INT, value


def _slot(slots: Any, name: str) -> list[str]:
    for s in slots:
        if s.parameter == name:
            return list(s.arguments)
    return []


def _readers(desc: Any) -> Counter[str]:
    """How many op input slots, over all blocks, read each variable."""
    count: Counter[str] = Counter()
    for block in desc.blocks:
        for op in block.ops:
            for s in op.inputs:
                count.update(s.arguments)
    return count


def _persistable(block: Any, name: str) -> bool:
    return any(v.name == name and v.persistable for v in block.vars)


def _fix_conv_bias(desc: Any, block: Any, dead_ops: set[int], dead_vars: set[str]) -> int:
    readers = _readers(desc)
    consumers: dict[str, list[int]] = {}
    for i, op in enumerate(block.ops):
        for s in op.inputs:
            for name in s.arguments:
                consumers.setdefault(name, []).append(i)
    count = 0
    for i, op in enumerate(block.ops):
        if op.type != "reshape2" or _slot(op.inputs, "Shape") or _slot(op.inputs, "ShapeTensor"):
            continue
        src, out, xshape = _slot(op.inputs, "X"), _slot(op.outputs, "Out"), _slot(op.outputs, "XShape")
        if len(src) != 1 or len(out) != 1 or not _persistable(block, src[0]):
            continue
        bias_dims = var_dims(block, src[0])
        shape = _attr(op, "shape")
        # Paddle 2.5+ writes [1, C, 1, 1]; Paddle 3 (a translated PIR export) [1, -1, 1, 1]: the same reshape
        if bias_dims is None or len(bias_dims) != 1 or shape not in ([1, bias_dims[0], 1, 1], [1, -1, 1, 1]):
            continue
        if readers[out[0]] != 1 or any(readers[x] for x in xshape) or len(consumers.get(out[0], [])) != 1:
            continue
        j = consumers[out[0]][0]
        add = block.ops[j]
        if add.type != "elementwise_add" or _slot(add.inputs, "Y") != out or _attr(add, "axis") not in (-1, None):
            continue
        x_dims = var_dims(block, (_slot(add.inputs, "X") or [""])[0])
        if x_dims is None or len(x_dims) != 4 or x_dims[1] not in (bias_dims[0], -1):
            continue
        for s in add.inputs:
            if s.parameter == "Y":
                del s.arguments[:]
                s.arguments.append(src[0])
        _set_int_attr(add, "axis", 1)
        dead_ops.add(i)
        dead_vars.update(out + xshape)
        count += 1
    return count


def _fix_dropout(desc: Any, block: Any, dead_ops: set[int], dead_vars: set[str]) -> int:
    fetched = {n for b in desc.blocks for op in b.ops if op.type == "fetch" for n in _slot(op.inputs, "X")}
    count = 0
    for i, op in enumerate(block.ops):
        if op.type != "dropout" or i in dead_ops or not _attr(op, "is_test"):
            continue
        impl = _attr(op, "dropout_implementation")
        prob = _attr(op, "dropout_prob") or 0.0
        if impl not in ("upscale_in_train", b"upscale_in_train") and prob != 0.0:
            continue
        src, out = _slot(op.inputs, "X"), _slot(op.outputs, "Out")
        if len(src) != 1 or len(out) != 1 or out[0] in fetched or _slot(op.inputs, "Seed"):
            continue
        for b in desc.blocks:
            for other in b.ops:
                for s in other.inputs:
                    for k, name in enumerate(s.arguments):
                        if name == out[0]:
                            s.arguments[k] = src[0]
        dead_ops.add(i)
        dead_vars.update(out + _slot(op.outputs, "Mask"))
        count += 1
    return count


def _producers(block: Any) -> dict[str, int]:
    return {name: i for i, op in enumerate(block.ops) for s in op.outputs for name in s.arguments}


def _static_hw(block: Any, producers: dict[str, int], size_var: str) -> tuple[int, int] | None:
    """H, W when `size_var` is [cast(]slice(shape(t), axes=[0], starts=[2])[)] of a tensor with static dims."""
    i = producers.get(size_var)
    op = block.ops[i] if i is not None else None
    if op is not None and op.type == "cast":
        src = _slot(op.inputs, "X")
        op = block.ops[producers[src[0]]] if len(src) == 1 and src[0] in producers else None
    if op is None or op.type != "slice" or _attr(op, "axes") != [0] or _attr(op, "starts") != [2]:
        return None
    if (_attr(op, "ends") or [0])[0] < 4 or _slot(op.inputs, "StartsTensor") or _slot(op.inputs, "EndsTensor"):
        return None
    src = _slot(op.inputs, "Input")
    shape_op = block.ops[producers[src[0]]] if len(src) == 1 and src[0] in producers else None
    if shape_op is None or shape_op.type != "shape":
        return None
    dims = var_dims(block, (_slot(shape_op.inputs, "Input") or [""])[0])
    if dims is None or len(dims) != 4 or min(dims) <= 0:
        return None
    return dims[2], dims[3]


def _fix_static_interp(desc: Any, block: Any, dead_ops: set[int], dead_vars: set[str]) -> int:
    """interp_v2 ops sized at run time from shape(t)[2:] of a tensor whose dims are static (a fixed-shape export)
    get out_h/out_w attributes instead; the shape/slice/cast chain then feeds nothing and goes."""
    producers = _producers(block)
    count = 0
    for op in block.ops:
        if op.type not in ("bilinear_interp_v2", "nearest_interp_v2") or _slot(op.inputs, "SizeTensor"):
            continue
        size = _slot(op.inputs, "OutSize")
        if len(size) != 1 or _slot(op.inputs, "Scale") or _attr(op, "scale"):
            continue
        hw = _static_hw(block, producers, size[0])
        if hw is None:
            continue
        for s in op.inputs:
            if s.parameter == "OutSize":
                del s.arguments[:]
        _set_int_attr(op, "out_h", hw[0])
        _set_int_attr(op, "out_w", hw[1])
        count += 1
    if count:
        _remove_unread(desc, block, ("cast", "slice", "shape"), dead_ops, dead_vars)
    return count


def _remove_unread(desc: Any, block: Any, kinds: tuple[str, ...], dead_ops: set[int], dead_vars: set[str]) -> None:
    """Drop side-effect-free ops of `kinds` whose outputs nothing reads, repeatedly."""
    while True:
        readers = _readers(desc)
        for i in sorted(dead_ops):
            for s in block.ops[i].inputs:
                readers.subtract(s.arguments)
        found = [
            i
            for i, op in enumerate(block.ops)
            if i not in dead_ops and op.type in kinds and all(readers[n] <= 0 for s in op.outputs for n in s.arguments)
        ]
        if not found:
            return
        for i in found:
            dead_ops.add(i)
            dead_vars.update(n for s in block.ops[i].outputs for n in s.arguments)


def parse_program(data: bytes, where: str = "program") -> Any:
    """A serialized ProgramDesc as Paddle's own proto; ModelFormatError for bytes that are not a program."""
    from google.protobuf.message import DecodeError
    from paddle.base.proto import framework_pb2

    desc = framework_pb2.ProgramDesc()
    try:
        desc.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ModelFormatError(f"{where}: not a Paddle program (protobuf decode failed: {e})") from None
    if not desc.blocks or not desc.blocks[0].ops:
        raise ModelFormatError(f"{where}: the program has no operators")
    return desc


def _fix_reshape(desc: Any, block: Any, input_shape: tuple[int, ...] | None, dead: tuple[set[int], set[str]]) -> int:
    """Rounds of shape inference and rewriting: a rewritten reshape makes the shapes after it static in turn."""
    count = 0
    while input_shape:
        done = fix_static_reshape(block, static_dims(desc.SerializeToString(), input_shape))
        if not done:
            break
        count += done
    if count:
        _remove_unread(desc, block, ("fill_constant", "slice", "shape", "cast"), *dead)
    return count


def fix_program(data: bytes, where: str = "program", input_shape: tuple[int, ...] | None = None) -> FixResult:
    """Rewrite `data` (a serialized ProgramDesc); raise ModelFormatError for bytes that are not a program.
    input_shape: the model's fixed input (N, C, H, W), which lets run-time reshape shapes become attributes."""
    desc = parse_program(data, where)
    block = desc.blocks[0]
    before = sum(len(b.ops) for b in desc.blocks)
    dead_ops: set[int] = set()
    dead_vars: set[str] = set()
    filled = fill_defaults(desc)
    rewrites = {
        "conv_bias_reshape": _fix_conv_bias(desc, block, dead_ops, dead_vars),
        "inference_dropout": _fix_dropout(desc, block, dead_ops, dead_vars),
        "static_interp_size": _fix_static_interp(desc, block, dead_ops, dead_vars),
        "static_reshape_shape": _fix_reshape(desc, block, input_shape, (dead_ops, dead_vars)),
        "attribute_default": sum(f.ops for f in filled),
        "xshape_output": add_xshape(desc),
    }
    for i in sorted(dead_ops, reverse=True):
        del block.ops[i]
    still_used = set(_readers(desc)) | {n for op in block.ops for s in op.outputs for n in s.arguments}
    for k in range(len(block.vars) - 1, -1, -1):
        if block.vars[k].name in dead_vars and block.vars[k].name not in still_used:
            del block.vars[k]
    # last: it adds ops, and the indices above refer to the program before it
    dims = static_dims(desc.SerializeToString(), input_shape) if input_shape else {}
    rewrites["fp16_gemv_tail"] = fix_gemv_tail(block, dims)
    result = FixResult(data, {k: v for k, v in rewrites.items() if v}, before, before, filled)
    if dead_ops or filled or rewrites["xshape_output"] or rewrites["fp16_gemv_tail"]:
        result.program = desc.SerializeToString()
        result.ops_after = sum(len(b.ops) for b in desc.blocks)
    return result
