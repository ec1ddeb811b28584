"""What opt 2.13 needs of an op and Paddle 2.6 leaves out of an export: attributes, filled in with Paddle's
documented default, and the XShape output slot.

Paddle 2.5+ writes an inference program without the operators' "extra" attributes (relu6's `threshold`, swish's
`beta`, ...: the phi kernels no longer take them), but Paddle-Lite 2.13's opt reads some of them unconditionally in
its ops' AttachImpl and aborts: `No attributes called threshold found for relu6`. configs/lite_op_attrs.yaml lists,
per op type, every attribute opt reads without a HasAttr guard (derived from the Paddle-Lite v2.13-rc sources by
tools/lite-op-attrs); an attribute of that list missing from an op is added with the default Paddle 2.6.2 itself
documents for it (`core.get_op_extra_attrs`: the value every Paddle 2.6 kernel assumes). An attribute with no such
default is left alone: opt then fails, and the converter names the op and the attribute.

XShape: Paddle <= 2.4 gave reshape2, transpose2, squeeze2, unsqueeze2, flatten_contiguous_range ... an auxiliary
`XShape` output (the input's shape, for the backward pass); Paddle 2.6 exports drop it where it is unused, but
Paddle-Lite's kernels still bind it, and opt's x86 place inference dies of SIGSEGV on a flatten_contiguous_range
without it (measured). Every op whose kernels bind XShape (the table's `outputs`) gets it back, as Paddle 2.4 wrote
it: a variable of dims [0, *input dims] that nothing reads."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from converter.base.errors import ToolkitError
from converter.base.locations import CONFIGS
from converter.base.yaml_files import read_mapping

LITE_OP_ATTRS = CONFIGS / "lite_op_attrs.yaml"
# framework.proto AttrType
_INT, _FLOAT, _STRING, _INTS, _FLOATS, _STRINGS, _BOOLEAN, _LONG = 0, 1, 2, 3, 4, 5, 6, 9
_LOD_TENSOR, _FP32 = 7, 5  # VarType.Type


class AttrTableError(ToolkitError):
    """configs/lite_op_attrs.yaml is missing or malformed."""


@dataclass(frozen=True)
class FilledAttr:
    op_type: str
    attribute: str
    value: Any
    ops: int  # how many ops of that type got it

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op_type, "attribute": self.attribute, "value": self.value, "ops": self.ops}


@cache
def _table(path: Path, key: str) -> dict[str, frozenset[str]]:
    raw = read_mapping(path, AttrTableError, missing="it ships with the toolkit (tools/lite-op-attrs)", top="ops")
    ops = raw.get(key)
    if not isinstance(ops, dict) or not all(isinstance(v, list) for v in ops.values()):
        raise AttrTableError(f"{path}: '{key}' must map op types to lists of names")
    return {str(op): frozenset(map(str, names)) for op, names in ops.items()}


def lite_required_attrs(path: Path = LITE_OP_ATTRS) -> dict[str, frozenset[str]]:
    """Op type -> the attributes opt reads without a HasAttr guard."""
    return _table(path, "ops")


def lite_bound_outputs(path: Path = LITE_OP_ATTRS) -> dict[str, frozenset[str]]:
    """Op type -> the output slots opt's arm/x86/host kernels bind."""
    return _table(path, "outputs")


@cache
def paddle_default(op_type: str, attribute: str) -> Any:
    """Paddle 2.6's documented default of an attribute its exports leave out (None: it documents none)."""
    from paddle.base import core

    try:
        extra = core.get_op_extra_attrs(op_type)
    except (RuntimeError, ValueError):  # an op type this Paddle does not know
        return None
    return extra.get(attribute)


def _set(op: Any, name: str, value: Any) -> bool:
    a = op.attrs.add()
    a.name = name
    if isinstance(value, bool):
        a.type, a.b = _BOOLEAN, value
    elif isinstance(value, int):
        a.type, a.i = _INT, value
    elif isinstance(value, float):
        a.type, a.f = _FLOAT, value
    elif isinstance(value, str):
        a.type, a.s = _STRING, value
    elif isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        a.type = _INTS
        a.ints.extend(value)
    elif isinstance(value, list) and all(isinstance(v, float) for v in value):
        a.type = _FLOATS
        a.floats.extend(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        a.type = _STRINGS
        a.strings.extend(value)
    else:
        del op.attrs[-1]  # a kind of value this toolkit does not write: leave the attribute missing
        return False
    return True


def fill_defaults(desc: Any) -> list[FilledAttr]:
    """Add every attribute opt needs and the program lacks, where Paddle documents a default; what was added."""
    required = lite_required_attrs()
    counts: dict[tuple[str, str], tuple[Any, int]] = {}
    for block in desc.blocks:
        for op in block.ops:
            need = required.get(op.type)
            if not need:
                continue
            have = {a.name for a in op.attrs}
            for name in sorted(need - have):
                value = paddle_default(op.type, name)
                if value is not None and _set(op, name, value):
                    _, n = counts.get((op.type, name), (value, 0))
                    counts[(op.type, name)] = (value, n + 1)
    return [FilledAttr(t, a, v, n) for (t, a), (v, n) in sorted(counts.items())]


def var_dims(block: Any, name: str) -> list[int] | None:
    """The dims a program block records for a tensor variable (None: no such tensor)."""
    for v in block.vars:
        if v.name == name and v.type.HasField("lod_tensor"):
            return [int(d) for d in v.type.lod_tensor.tensor.dims]
    return None


def add_xshape(desc: Any) -> int:
    """Give back the XShape output opt's kernels bind to every op that lacks it; how many ops got one."""
    binds = lite_bound_outputs()
    added = 0
    for block in desc.blocks:
        names = {v.name for v in block.vars}
        for op in block.ops:
            if "XShape" not in binds.get(op.type, ()) or any(s.parameter == "XShape" for s in op.outputs):
                continue
            inputs = [a for s in op.inputs if s.parameter == "X" for a in s.arguments]
            outs = [a for s in op.outputs if s.parameter == "Out" for a in s.arguments]
            if len(inputs) != 1 or len(outs) != 1:
                continue
            name = f"{outs[0]}.xshape"
            while name in names:
                name += "_"
            var = block.vars.add()
            var.name = name
            var.type.type = _LOD_TENSOR
            var.type.lod_tensor.tensor.data_type = _FP32
            var.type.lod_tensor.tensor.dims.extend([0, *(var_dims(block, inputs[0]) or [])])
            names.add(name)
            slot = op.outputs.add()
            slot.parameter = "XShape"
            slot.arguments.append(name)
            added += 1
    return added
