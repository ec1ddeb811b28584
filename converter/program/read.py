"""Reads a Paddle program (`.pdmodel` / `__model__` protobuf) with Paddle's own framework proto, without running
it. This is the check that runs before any native code sees a model: a garbage program makes Paddle Inference
segfault and makes opt's op preflight report an empty, "supported" model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from converter.sources.model_format import ModelFormatError

# paddle.framework.proto VarType.Type values.
_DTYPES = {
    0: "bool",
    1: "int16",
    2: "int32",
    3: "int64",
    4: "float16",
    5: "float32",
    6: "float64",
    20: "uint8",
    21: "int8",
    22: "bfloat16",
}
_OPTIMIZER_OPS = {
    "sgd",
    "momentum",
    "adam",
    "adamw",
    "lamb",
    "rmsprop",
    "adagrad",
    "adadelta",
    "adamax",
    "ftrl",
}


class TrainingProgramError(ModelFormatError):
    """The program is a training program (gradient/optimizer ops), not an inference model."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class ProgramInfo:
    path: Path
    op_types: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    persistable_count: int

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.op_types:
            counts[op] = counts.get(op, 0) + 1
        return dict(sorted(counts.items()))


def read_program(path: Path) -> ProgramInfo:
    """Parse and sanity-check an inference program; raise ModelFormatError with the file and the reason."""
    from google.protobuf.message import DecodeError
    from paddle.base.proto import framework_pb2

    data = path.read_bytes()
    if not data:
        raise ModelFormatError(f"{path}: the program file is empty")
    desc = framework_pb2.ProgramDesc()
    try:
        desc.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ModelFormatError(
            f"{path}: not a Paddle program (protobuf decode failed: {e}); the file is corrupt or of another kind"
        ) from None
    if not desc.blocks or not desc.blocks[0].ops:
        raise ModelFormatError(f"{path}: the program has no operators; the file is corrupt or not a Paddle model")

    ops = [op.type for block in desc.blocks for op in block.ops]
    training = sorted({t for t in ops if t.endswith("_grad") or t in _OPTIMIZER_OPS})
    if training:
        shown = ", ".join(training[:8]) + (", ..." if len(training) > 8 else "")
        raise TrainingProgramError(
            f"{path}: this is a training program ({len(training)} gradient/optimizer op types: {shown}), not an "
            "inference model; export it with paddle.jit.save / paddle.static.save_inference_model "
            "(PaddleSeg: tools/export.py)"
        )
    block = desc.blocks[0]
    variables = {v.name: v for v in block.vars}

    def tensor(name: str) -> TensorInfo:
        v = variables.get(name)
        if v is None or not v.type.HasField("lod_tensor"):
            return TensorInfo(name, (), "unknown")
        t = v.type.lod_tensor.tensor
        return TensorInfo(name, tuple(int(d) for d in t.dims), _DTYPES.get(t.data_type, f"type{t.data_type}"))

    def ordered(op_type: str, slot_in: bool) -> list[TensorInfo]:
        found: list[tuple[int, str]] = []
        for op in block.ops:
            if op.type != op_type:
                continue
            col = next((a.i for a in op.attrs if a.name == "col"), len(found))
            slots = op.inputs if slot_in else op.outputs
            for s in slots:
                if s.parameter == ("X" if slot_in else "Out"):
                    found += [(col, a) for a in s.arguments]
        return [tensor(n) for _, n in sorted(found)]

    inputs, outputs = ordered("feed", False), ordered("fetch", True)
    if not inputs or not outputs:
        raise ModelFormatError(
            f"{path}: the program has no feed/fetch operators, so it is not an inference model; export it with "
            "paddle.jit.save / paddle.static.save_inference_model"
        )
    return ProgramInfo(
        path=path,
        op_types=tuple(ops),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        persistable_count=sum(1 for v in block.vars if v.persistable),
    )
