"""Graph fix 6, static_reshape_shape: a reshape2 whose target shape comes at run time from a list of one-element
tensors (fill_constant values and slices of shape(t)), as Paddle 2.x writes channel shuffles, gets that shape as its
`shape` attribute when every element is known at the model's fixed input shape. The fill_constant/slice/shape chain,
then unread, goes. Paddle-Lite's opt fuses reshape2 + transpose2 + reshape2 into one `shuffle_channel` only when the
reshapes carry static shapes (its ShuffleChannelFuser reads the `shape` attribute); the ARM cost profile showed the
unfused transpose2 at 10 % of PP-HumanSegV1-Lite's instructions (docs/cost-profile.md).

Dims come from Paddle's own shape inference (OpDesc.infer_shape, op by op) after the feed variable is given the
fixed input shape; an element that is not a constant or a static dim leaves its reshape alone."""

from __future__ import annotations

from typing import Any

# framework.proto AttrType
_INTS = 3


def _inferred(data: bytes, input_shape: tuple[int, ...]) -> tuple[Any, Any, list[Any]]:
    """The program's desc, block 0 and its ops with every variable's dims inferred from the feed at `input_shape`;
    ValueError when the program has several feeds or Paddle cannot infer one of its ops. Keep the desc: a block does
    not keep it alive."""
    from paddle.base import core

    desc = core.ProgramDesc(data)
    block = desc.block(0)
    ops = [block.op(i) for i in range(block.op_size())]
    feeds = [op.output("Out")[0] for op in ops if op.type() == "feed"]
    if len(feeds) != 1 or block.find_var(feeds[0].encode()) is None:
        raise ValueError(f"the program has {len(feeds)} feed(s); one input is needed")
    block.find_var(feeds[0].encode()).set_shape(list(input_shape))
    for op in ops:
        if op.type() in ("feed", "fetch"):
            continue
        try:
            op.infer_shape(block)
        except Exception as e:  # noqa: BLE001 - Paddle's C++ errors: named, with the op
            raise ValueError(f"{op.type()}: its shapes cannot be inferred at {list(input_shape)}: {e}") from None
    return desc, block, ops


def static_dims(data: bytes, input_shape: tuple[int, ...]) -> dict[str, list[int]]:
    """Each variable's dims inferred at `input_shape` (variables with a free dim left out); {} when the program has
    several feeds or Paddle cannot infer one of its ops. Paddle's C++ descs only: nothing is run or built."""
    try:
        desc, block, _ = _inferred(data, input_shape)
    except ValueError:  # no static dims, no rewrite
        return {}
    dims = {}
    for var in block.all_vars():
        try:
            shape = list(var.shape())
        except Exception:  # noqa: BLE001 - a variable without a tensor shape (feed/fetch lists)
            continue
        if shape and min(shape) > 0:
            dims[var.name()] = shape
    return dims


def _slot(slots: Any, name: str) -> list[str]:
    for s in slots:
        if s.parameter == name:
            return list(s.arguments)
    return []


def _attr(op: Any, name: str) -> Any:
    for a in op.attrs:
        if a.name == name:
            return a
    return None


def _element(block: Any, producers: dict[str, int], dims: dict[str, list[int]], name: str) -> int | None:
    """The value of a one-element shape tensor: fill_constant's value, or slice(shape(t))[i] of a static t."""
    i = producers.get(name)
    op = block.ops[i] if i is not None else None
    if op is None:
        return None
    if op.type == "fill_constant" and not any(s.arguments for s in op.inputs):
        s, v = _attr(op, "str_value"), _attr(op, "value")
        text = s.s if s is not None and s.s else (str(v.f) if v is not None else "")
        try:
            value = float(text)
        except ValueError:
            return None
        return int(value) if value.is_integer() else None
    if op.type != "slice" or any(_slot(op.inputs, k) for k in ("StartsTensor", "EndsTensor", "StartsTensorList")):
        return None
    axes, starts, ends = (_attr(op, k) for k in ("axes", "starts", "ends"))
    if axes is None or list(axes.ints) != [0] or len(starts.ints) != 1 or list(ends.ints) != [starts.ints[0] + 1]:
        return None
    src = _slot(op.inputs, "Input")
    shape_op = block.ops[producers[src[0]]] if len(src) == 1 and src[0] in producers else None
    if shape_op is None or shape_op.type != "shape":
        return None
    t = dims.get((_slot(shape_op.inputs, "Input") or [""])[0])
    k = starts.ints[0]
    return t[k] if t is not None and 0 <= k < len(t) else None


def fix_static_reshape(block: Any, dims: dict[str, list[int]]) -> int:
    """Rewrite reshape2 ops whose ShapeTensor list is all known; returns how many (the caller removes the chain)."""
    if not dims:
        return 0
    producers = {n: i for i, op in enumerate(block.ops) for s in op.outputs for n in s.arguments}
    count = 0
    for op in block.ops:
        if op.type != "reshape2" or _slot(op.inputs, "Shape"):
            continue
        parts = _slot(op.inputs, "ShapeTensor")
        if not parts:
            continue
        values = [_element(block, producers, dims, p) for p in parts]
        if any(v is None for v in values):
            continue
        for s in op.inputs:
            if s.parameter == "ShapeTensor":
                del s.arguments[:]
        shape = _attr(op, "shape")
        if shape is None:
            shape = op.attrs.add()
            shape.name, shape.type = "shape", _INTS
        del shape.ints[:]
        shape.ints.extend(int(v) for v in values if v is not None)
        count += 1
    return count


def static_program(data: bytes, input_shape: tuple[int, ...]) -> tuple[bytes, dict[str, int]]:
    """The program with its feed at `input_shape` and every variable's dims inferred from it, serialized: what an
    exporter that reads the declared shapes needs (paddle2onnx writes an adaptive pool of a free-dim input as an
    AveragePool with kernel -1), with the two rewrites ncnn needs (how many of each returned; outputs unchanged).
    ValueError when the program has several feeds or an op cannot be inferred."""
    desc, block, ops = _inferred(data, input_shape)
    rewrites = {
        "split_sections": _split_sections(block, ops),
        "upsample_1x1_nearest": _broadcast_1x1_upsample(block, ops),
    }
    return bytes(desc.serialize_to_string()), {k: n for k, n in rewrites.items() if n}


def _source_is_1x1(block: Any, ops: list[Any], name: str) -> bool:
    var = block.find_var(name.encode())
    dims = list(var.shape()) if var is not None else []
    if len(dims) == 4 and dims[2:] == [1, 1]:
        return True
    producer = next((op for op in ops if name in op.output_arg_names()), None)  # a pool to 1x1 left free by Paddle
    if producer is None or producer.type() != "pool2d":
        return False
    return bool(producer.attr("global_pooling")) or (
        bool(producer.attr("adaptive")) and list(producer.attr("ksize")) == [1, 1]
    )


def _broadcast_1x1_upsample(block: Any, ops: list[Any]) -> int:
    """A bilinear upsample of a 1x1 source is a broadcast: it becomes a nearest upsample (the same values). ncnn's
    fp16 bilinear kernel reads before a 1-pixel-wide source (README of ../shared/ncnn-armv8: the first inference of
    a process NaN where the stale bytes are); the nearest kernel reads only the pixel."""
    done = 0
    for op in ops:
        if op.type() == "bilinear_interp_v2" and _source_is_1x1(block, ops, op.input("X")[0]):
            op.set_type("nearest_interp_v2")
            op._set_str_attr("interp_method", "nearest")
            done += 1
    return done


def _split_sections(block: Any, ops: list[Any]) -> int:
    """A `split` into `num` equal parts gets its sections written out (paddle2onnx then writes an ONNX Split with
    sizes: one without them becomes an ncnn Slice that crashes). Same outputs; only static dims are rewritten."""
    done = 0
    for op in ops:
        if op.type() != "split" or op.attr("num") <= 0 or list(op.attr("sections")):
            continue
        if any(op.input(n) for n in ("AxisTensor", "SectionsTensorList") if n in op.input_names()):
            continue
        var = block.find_var(op.input("X")[0].encode())
        dims = list(var.shape()) if var is not None else []
        axis, num = op.attr("axis"), op.attr("num")
        axis = axis + len(dims) if axis < 0 else axis
        if not dims or not 0 <= axis < len(dims) or dims[axis] <= 0 or dims[axis] % num:
            continue
        op._set_int32s_attr("sections", [dims[axis] // num] * num)
        op._set_int32_attr("num", 0)
        done += 1
    return done
