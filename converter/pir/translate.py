"""Paddle 3 PIR program (`.json`) -> the ProgramDesc (`.pdmodel`) that Paddle 2.6 writes for the same model, which
opt 2.13, the graph fixes and Paddle 2.6 Inference read.

What each PIR op becomes is data (configs/pir_ops.yaml, converter.pir.op_table); the program is built with Paddle
2.6's own static-graph API, so every op is checked against Paddle 2.6's op definitions as it is appended (input and
output slots, attribute types, defaults for the attributes PIR does not carry, shape inference), then pruned to
what the outputs need and given feed/fetch ops exactly as `paddle.static.save_inference_model` does. Operands that
PIR makes tensors and Paddle 2.6 attributes are evaluated at the fixed input shape (converter.pir.constants).
Builtin ops are plumbing: `parameter` is a persistable variable (same name, so the export's `.pdiparams` is used as
it is), `combine` / `split` build and unpack the tensor lists of concat, stack and split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from converter.pir.attrs import pir_attributes
from converter.pir.constants import SHAPE_OPS, Constant, evaluate, shape_constant
from converter.pir.json_format import PirOp, PirProgram, PirValue, TensorType
from converter.pir.op_table import AttrOperand, PirOpTable, load_pir_table
from converter.sources.model_format import ModelFormatError

TRANSLATOR_FORMAT = 1  # bump when the translated program changes for the same input


@dataclass
class PirTranslationError(ModelFormatError):
    """A PIR op (or one of its operands or attributes) that the translator cannot write as a Paddle 2.6 op."""

    path: Path
    op: str
    op_index: int
    detail: str
    attribute: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.path}: op #{self.op_index} {self.op}: {self.detail}. The model cannot be converted from its PIR "
            "export until the toolkit maps it (configs/pir_ops.yaml); with Paddle <= 3.1 an export with "
            "FLAGS_enable_pir_api=0 avoids the translation"
        )


@dataclass(frozen=True)
class Translation:
    program: bytes  # the serialized ProgramDesc
    pir_ops: int  # ops of the PIR program (builtin ones included)
    op_counts: dict[str, int]  # of the translated program (feed/fetch included)
    folded: int  # PIR ops evaluated into attributes
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    outputs: tuple[str, ...]
    notes: list[str] = field(default_factory=list)


class _Builder:
    """Writes the PIR ops, in program order, as Paddle 2.6 ops into `block`: constants are evaluated instead of
    written (converter.pir.constants), using the shapes Paddle 2.6 infers op by op from the fixed input shape."""

    def __init__(self, program: PirProgram, table: PirOpTable, block: Any, protos: Any) -> None:
        self.program, self.table, self.block, self.protos = program, table, block, protos
        self.types = program.value_types()
        self.producers = program.producers()
        self.consts: dict[int, Constant] = {}
        self.names: dict[int, str] = {}  # value id -> variable name
        self.lists: dict[int, list[int]] = {}  # builtin.combine result -> its elements
        self.unpacked: dict[int, list[int]] = {}  # list result -> the builtin.split results that unpack it
        self.preferred: dict[int, str] = {}  # fetched values keep their fetch names
        self.counters: Counter[str] = Counter()
        self.emitted = 0
        self.input_shape: tuple[int, ...] | None = None
        for op in program.ops:
            if op.qualified == "builtin.split":
                self.unpacked[op.operands[0]] = [v.id for v in op.results]
            elif op.qualified == "pd_op.fetch":
                self.preferred[op.operands[0]] = str(op.attrs.get("name", f"fetch_{op.attrs.get('col', 0)}"))

    def error(self, op: PirOp, detail: str, attribute: str | None = None) -> PirTranslationError:
        return PirTranslationError(self.program.path, op.qualified, op.index, detail, attribute)

    def reachable(self) -> set[int]:
        """The ops the outputs depend on (through any operand)."""
        todo = [op.operands[0] for op in self.program.ops if op.qualified == "pd_op.fetch"]
        if not todo:
            raise PirTranslationError(self.program.path, "pd_op.fetch", -1, "the program has no output (no fetch op)")
        seen: set[int] = set()
        ops: set[int] = set()
        while todo:
            value = todo.pop()
            if value in seen or not value:
                continue
            seen.add(value)
            op = self.producers.get(value)
            if op is None:
                raise PirTranslationError(self.program.path, "value", -1, f"value %{value} is used but never defined")
            ops.add(op.index)
            todo += op.operands
            if op.qualified == "builtin.split":
                ops.add(self.producers[op.operands[0]].index)
        return ops

    def new_var(self, value: PirValue, name: str, **kw: Any) -> str:
        name = self.preferred.get(value.id, name)
        t = value.tensor
        if not self.block.has_var(name):
            self.block.create_var(name=name, shape=list(t.dims) if t else None, dtype=t.dtype if t else None, **kw)
        self.names[value.id] = name
        return name

    def static_dims(self, value: int) -> tuple[int, ...] | None:
        """A value's dims when static: its PIR type's, else what Paddle 2.6 inferred for its variable."""
        t = self.types[value].tensor
        if t is not None and t.static:
            return t.dims
        name = self.names.get(value)
        if name is None:
            return None
        dims = tuple(int(d) for d in self.block.var(name).shape)
        return dims if all(d >= 0 for d in dims) else None

    def fold(self, op: PirOp) -> bool:
        if op.qualified in SHAPE_OPS:
            dims = self.static_dims(op.operands[0])
            if dims is None:
                return False
            self.consts[op.results[0].id] = shape_constant(op, dims)
            return True
        value = evaluate(op, self.consts, self.types)
        if value is None:
            return False
        self.consts[op.results[0].id] = value
        return True

    def tensors(self, value: int) -> list[str]:
        """The variables a slot operand stands for (a builtin.combine list: each element), constants written."""
        if value in self.lists:
            return [n for v in self.lists[value] for n in self.tensors(v)]
        if value not in self.names:
            if value not in self.consts:
                raise self.error(self.producers[value], "its result is needed and was never written")
            self._materialize(value)
        return [self.names[value]]

    def _materialize(self, value: int) -> None:
        """A constant that an op takes as a tensor: fill_constant (one value) or assign_value."""
        from paddle.base import framework

        array = np.asarray(self.consts[value])
        uniform = array.size > 0 and bool((array == array.reshape(-1)[0]).all())
        kind = "fill_constant" if uniform else "assign_value"
        tensor = TensorType(str(array.dtype), tuple(array.shape))
        name = self.new_var(PirValue(value, tensor), f"{kind}_{self.counters[kind]}.tmp_0")
        self.counters[kind] += 1
        dtype = int(framework.convert_np_dtype_to_dtype_(array.dtype))
        attrs: dict[str, Any] = {"shape": list(array.shape), "dtype": dtype}
        if uniform:
            first = array.reshape(-1)[0].item()
            attrs.update(value=float(first), str_value=repr(first))
        else:
            key = {"float32": "fp32_values", "int32": "int32_values", "int64": "int64_values", "bool": "bool_values"}
            attrs[key[str(array.dtype)]] = array.reshape(-1).tolist()
        self.block.append_op(type=kind, inputs={}, outputs={"Out": [self.block.var(name)]}, attrs=attrs)

    def run(self) -> tuple[list[Any], list[Any]]:
        """Write every reachable op; returns the feed variables and the fetch variables in column order."""
        feeds: list[Any] = []
        fetches: list[tuple[int, Any]] = []
        reachable = self.reachable()
        for op in self.program.ops:
            if op.index not in reachable and op.qualified not in ("pd_op.data", "pd_op.fetch"):
                continue
            if op.qualified == "builtin.parameter":
                self.new_var(op.results[0], str(op.attrs["parameter_name"]), persistable=True)
            elif op.qualified == "pd_op.data":
                self.preferred.pop(op.results[0].id, None)  # a fed value keeps its input name
                value = op.results[0]
                if self.input_shape is not None and value.tensor is not None:
                    value = PirValue(value.id, TensorType(value.tensor.dtype, tuple(self.input_shape)))
                feeds.append(self.block.var(self.new_var(value, str(op.attrs["name"]))))
            elif op.qualified == "pd_op.fetch":
                col = int(op.attrs.get("col", len(fetches)))
                fetches.append((col, self.block.var(self.tensors(op.operands[0])[0])))
            elif op.qualified == "builtin.combine":
                self.lists[op.results[0].id] = list(op.operands)
                if all(v in self.consts for v in op.operands):
                    self.consts[op.results[0].id] = [np.asarray(self.consts[v]) for v in op.operands]
            elif op.qualified == "builtin.split" or self.fold(op):
                continue
            else:
                self._append(op)
        return feeds, [v for _, v in sorted(fetches, key=lambda cv: cv[0])]

    def _append(self, op: PirOp) -> None:
        m = self.table.ops.get(op.name) if op.dialect == "pd_op" else None
        if m is None:
            raise self.error(op, "no Paddle 2.6 op is known for it")
        try:
            proto = self.protos.get_op_proto(m.type)
        except ValueError:
            raise self.error(op, f"Paddle 2.6 has no op {m.type!r} (configs/pir_ops.yaml)") from None
        if len(op.operands) != len(m.inputs):
            raise self.error(op, f"{len(op.operands)} operands, configs/pir_ops.yaml maps {len(m.inputs)}")
        if len(op.results) > len(m.outputs):
            raise self.error(op, f"{len(op.results)} results, configs/pir_ops.yaml maps {len(m.outputs)}")
        inputs: dict[str, list[Any]] = {}
        for i, (operand, spec) in enumerate(zip(op.operands, m.inputs, strict=True)):
            if isinstance(spec, str) and operand:
                inputs[spec] = [self.block.var(n) for n in self.tensors(operand)]
            elif isinstance(spec, AttrOperand) and operand and operand not in self.consts:
                raise self.error(
                    op,
                    f"operand {i} (Paddle 2.6's {'/'.join(spec.names)}) is computed at run time, but Paddle 2.6 "
                    "takes it as an attribute: export with a fixed input shape (InputSpec without None)",
                    spec.names[0],
                )
            elif spec is None and operand:
                raise self.error(op, f"operand {i} is given, and Paddle 2.6's {m.type} has no such input")
        n = self.counters[m.type]
        self.counters[m.type] += 1
        outputs: dict[str, list[Any]] = {}
        for k, slot in enumerate(m.outputs):
            if slot is None:
                continue
            if slot in m.in_place:
                outputs[slot] = inputs[m.in_place[slot]]
            elif k >= len(op.results):  # an output Paddle 2.6 has and PIR does not (XShape): nothing reads it
                name = f"{m.type}_{n}.tmp_{k}"
                first = outputs[str(m.outputs[0])][0]
                outputs[slot] = [self.block.create_var(name=name, dtype=first.dtype)]
            elif op.results[k].vector is not None:
                elements = self.unpacked.get(op.results[k].id)
                if elements is None:
                    raise self.error(op, "its list result is used whole, not unpacked (builtin.split)")
                names = [self.new_var(self.types[e], f"{m.type}_{n}.tmp_{j}") for j, e in enumerate(elements)]
                outputs[slot] = [self.block.var(x) for x in names]
            else:
                outputs[slot] = [self.block.var(self.new_var(op.results[k], f"{m.type}_{n}.tmp_{k}"))]
        attrs = pir_attributes(self, op, m, {a.name: int(a.type) for a in proto.attrs})
        try:
            self.block.append_op(type=m.type, inputs=inputs, outputs=outputs, attrs=attrs)
        except (ValueError, RuntimeError, TypeError, AssertionError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise self.error(op, f"Paddle 2.6 refuses it as {m.type}: {first}") from e
        self.emitted += 1


def translate(
    program: PirProgram, table: PirOpTable | None = None, *, input_shape: tuple[int, ...] | None = None
) -> Translation:
    """Translate a parsed PIR program; PirTranslationError names the op (and attribute) it cannot write.
    `input_shape`: the model's fixed input shape, given to its one input (Paddle 2.6 infers every shape from it)."""
    import paddle
    from paddle.base import framework
    from paddle.static import io as static_io

    with framework._dygraph_guard(None):
        prog = paddle.static.Program()
        builder = _Builder(program, table or load_pir_table(), prog.global_block(), framework.OpProtoHolder.instance())
        single_input = sum(1 for op in program.ops if op.qualified == "pd_op.data") == 1
        builder.input_shape = input_shape if single_input else None
        feeds, fetch_vars = builder.run()
        try:
            normalized = static_io.normalize_program(prog, feeds, fetch_vars)
        except (ValueError, RuntimeError, TypeError) as e:
            raise PirTranslationError(program.path, "program", -1, f"Paddle 2.6 cannot finish it: {e}") from e
        block = normalized.global_block()
        fetched = [op.input("X")[0] for op in block.ops if op.type == "fetch"]
        for old, new in zip(fetched, [v.name for v in fetch_vars], strict=True):
            if old != new:  # Paddle 2.6 fetches a scale(1.0) of each output: it takes the output's PIR fetch name
                block._rename_var(old, new + "@pir")
                block._rename_var(new, new + "@translated")
                block._rename_var(new + "@pir", new)
        data = normalized.desc.serialize_to_string()
        counts = Counter(o.type for o in normalized.global_block().ops)
        inputs = tuple((v.name, tuple(int(d) for d in v.shape)) for v in feeds)
    folded = sum(1 for op in program.ops if op.dialect == "pd_op" and op.results and op.results[0].id in builder.consts)
    return Translation(
        data, len(program.ops), dict(sorted(counts.items())), folded, inputs, tuple(v.name for v in fetch_vars)
    )
