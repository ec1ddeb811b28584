"""The attributes of a translated op: the PIR op's own (renamed, typed as Paddle 2.6 defines them), the operands
folded into attributes, the element types some ops record, and the fixed values of configs/pir_ops.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from converter.pir.constants import Constant
from converter.pir.json_format import PirOp, PirValue
from converter.pir.op_table import AttrOperand, OpMapping, PirOpTable


class AttributeSource(Protocol):
    """What an op's attributes are read from: the translator's state so far (converter.pir.translate's builder)."""

    @property
    def table(self) -> PirOpTable: ...

    @property
    def consts(self) -> Mapping[int, Constant]: ...  # value id -> its evaluated constant

    @property
    def types(self) -> Mapping[int, PirValue]: ...  # value id -> the value, with its tensor type

    def error(self, op: PirOp, detail: str, attribute: str | None = None) -> Exception: ...


# framework.proto AttrType
_INT, _FLOAT, _INTS, _FLOATS, _BOOLEAN, _LONG, _LONGS, _FLOAT64S, _FLOAT64 = 0, 1, 3, 4, 6, 9, 11, 12, 15
_SCALAR_INT, _SCALAR_FLOAT, _LISTS = (_INT, _LONG), (_FLOAT, _FLOAT64), (_INTS, _LONGS, _FLOATS, _FLOAT64S)


def var_type(dtype: str) -> int:
    """Paddle 2.6's VarType enum value of an element type name."""
    from paddle.base import core, framework

    if dtype == "bfloat16":
        return int(core.VarDesc.VarType.BF16)
    return int(framework.convert_np_dtype_to_dtype_(np.dtype(dtype)))


def coerce(value: Any, attr_type: int) -> Any:
    """A PIR attribute value (or folded constant) as the Python value Paddle 2.6 stores for `attr_type`."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if attr_type in _SCALAR_INT and isinstance(value, str):  # a PIR dtype attribute: Paddle 2.6 keeps the enum
        return -1 if value.startswith("Undefined") else var_type(value)  # -1: the input's type (reduce_sum)
    if attr_type in _LISTS:
        items = value if isinstance(value, list) else [value]
        return [float(v) for v in items] if attr_type in (_FLOATS, _FLOAT64S) else [int(v) for v in items]
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueError(f"{len(value)} values for a scalar attribute")
        value = value[0]
    if attr_type in _SCALAR_INT:
        return int(value)
    if attr_type in _SCALAR_FLOAT:
        return float(value)
    if attr_type == _BOOLEAN:
        return bool(value)
    return value


def pir_attributes(builder: AttributeSource, op: PirOp, m: OpMapping, proto_attrs: dict[str, int]) -> dict[str, Any]:
    """Every attribute the Paddle 2.6 op gets from the PIR op; the rest keep Paddle 2.6's defaults."""
    attrs: dict[str, Any] = {}
    for name, value in op.attrs.items():
        if name in builder.table.ignored_attributes or name in m.drop or value is None:
            continue
        legacy = m.legacy_attr(name)
        if legacy not in proto_attrs:
            raise builder.error(op, f"attribute {name!r} has no counterpart in Paddle 2.6's {m.type}", name)
        try:
            attrs[legacy] = coerce(value, proto_attrs[legacy])
        except (TypeError, ValueError) as e:
            detail = f"attribute {name!r} = {value!r} does not fit Paddle 2.6's {legacy}: {e}"
            raise builder.error(op, detail, name) from e
    for operand, spec in zip(op.operands, m.inputs, strict=True):
        if not isinstance(spec, AttrOperand) or not operand:  # an absent optional operand: the PIR attributes say it
            continue
        values = np.asarray(builder.consts[operand]).reshape(-1).tolist()
        if len(spec.names) > 1 and len(values) != len(spec.names):
            raise builder.error(op, f"a constant of {len(values)} values for {spec.names}", spec.names[0])
        for k, legacy in enumerate(spec.names):
            if legacy not in proto_attrs:
                raise builder.error(op, f"Paddle 2.6's {m.type} has no attribute {legacy!r}", legacy)
            part = values[k] if len(spec.names) > 1 else values
            try:
                attrs[legacy] = coerce(part, proto_attrs[legacy])
            except (TypeError, ValueError) as e:
                raise builder.error(op, f"constant {part!r} does not fit Paddle 2.6's {legacy}: {e}", legacy) from e
    for legacy, index in m.input_dtype.items():
        source = builder.types[op.operands[index]].tensor
        attrs[legacy] = var_type(source.dtype if source else "float32")
    attrs.update(m.set)
    return attrs
