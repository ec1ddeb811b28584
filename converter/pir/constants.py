"""The constants of a PIR program at its fixed input shape.

Paddle 3 makes tensors of what Paddle 2.6 kept as attributes: a pool's kernel size (`full_int_array`), a concat's
axis (`full`), an interpolation's output size (`shape64` of a tensor, `slice`d, `cast`). With a fixed input shape
every one of them is known before run time; this module evaluates them with numpy, so that the translator can write
them as the attributes opt reads. Only the ops below are evaluated, and only when every operand is itself constant
(shape64 / shape: when the operand's dims are static, from its PIR type or, where PIR left -1, from Paddle 2.6's shape
inference of the translated program at the fixed input shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.pir.json_format import PirOp, PirValue

Constant = NDArray[Any] | list[NDArray[Any]]


def _dtype(name: Any) -> Any:
    return np.dtype("int64") if name in (None, "undefined") else np.dtype(str(name))


def _full_int_array(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    return np.array(op.attrs["value"], dtype=_dtype(op.attrs.get("dtype")))


def _full(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    return np.full(op.attrs["shape"], op.attrs["value"], dtype=_dtype(op.attrs.get("dtype")))


def _shape(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant | None:
    source = types.get(op.operands[0])
    if source is None or source.tensor is None or not source.tensor.static:
        return None
    return shape_constant(op, source.tensor.dims)


def shape_constant(op: PirOp, dims: tuple[int, ...]) -> Constant:
    """What shape64 / shape computes of a tensor with these (static) dims."""
    return np.array(dims, dtype=np.int64 if op.name == "shape64" else np.int32)


def _slice(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    x, starts, ends = (np.asarray(a) for a in args)
    index: list[Any] = [slice(None)] * x.ndim
    for axis, start, end in zip(op.attrs["axes"], starts.tolist(), ends.tolist(), strict=True):
        index[axis] = slice(start, end)
    out = x[tuple(index)]
    decrease = [int(a) for a in op.attrs.get("decrease_axis", [])]
    return np.asarray(np.squeeze(out, axis=tuple(decrease)) if decrease else out)


def _cast(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    return np.asarray(args[0]).astype(_dtype(op.attrs["dtype"]))


def _combine(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    return [np.asarray(a) for a in args]


def _stack(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    parts = args[0]
    assert isinstance(parts, list)
    return np.stack(parts, axis=int(op.attrs.get("axis", 0)))


def _concat(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    parts, axis = args
    assert isinstance(parts, list)
    return np.concatenate(parts, axis=int(np.asarray(axis).reshape(-1)[0]))


def _scale(op: PirOp, args: list[Constant], types: dict[int, PirValue]) -> Constant:
    x, s = np.asarray(args[0]), float(np.asarray(args[1]).reshape(-1)[0])
    b = float(op.attrs.get("bias", 0.0))
    out = x * s + b if op.attrs.get("bias_after_scale", True) else (x + b) * s
    return out.astype(x.dtype)


_EVALUATE: dict[str, Callable[[PirOp, list[Constant], dict[int, PirValue]], Constant | None]] = {
    "pd_op.full_int_array": _full_int_array,
    "pd_op.full": _full,
    "pd_op.shape64": _shape,
    "pd_op.shape": _shape,
    "pd_op.slice": _slice,
    "pd_op.cast": _cast,
    "builtin.combine": _combine,
    "pd_op.stack": _stack,
    "pd_op.concat": _concat,
    "pd_op.scale": _scale,
}
SHAPE_OPS = {"pd_op.shape64", "pd_op.shape"}


def evaluate(op: PirOp, consts: dict[int, Constant], types: dict[int, PirValue]) -> Constant | None:
    """The value of `op`'s single result when it is one of the ops above and every operand is in `consts` (shape
    ops: when the operand's PIR type is static); else None."""
    compute = _EVALUATE.get(op.qualified)
    if compute is None or len(op.results) != 1:
        return None
    if op.qualified not in SHAPE_OPS and not all(v in consts for v in op.operands):
        return None
    return compute(op, [consts[v] for v in op.operands if v in consts], types)
