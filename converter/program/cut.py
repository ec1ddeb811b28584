"""Cutting an inference program at one of its tensors: the ops up to the one that writes it that the tensor depends
on, and a fetch of it as the only output. Every variable stays declared (persistable ones included), so the combined
parameters file, which is read in the order of the program's persistable variables, still loads; ops after the cut,
and those the tensor does not depend on, are dropped. Used to compare a converted variant with desktop Paddle
Inference layer by layer: each cut converts and runs as a model of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from converter.program.graph_fixes import parse_program
from converter.sources.model_format import ModelFormatError

_CONTROL = ("feed", "fetch")


@dataclass(frozen=True)
class CutPoint:
    index: int  # position of the op that writes the tensor, in program order (feed/fetch included)
    op_type: str
    tensor: str


def cut_points(data: bytes, where: str = "program") -> list[CutPoint]:
    """Every float tensor an op of block 0 writes (its first output), in program order: where a cut can be made."""
    desc = parse_program(data, where)
    block = desc.blocks[0]
    tensors = {v.name: v for v in block.vars}
    points = []
    for i, op in enumerate(block.ops):
        if op.type in _CONTROL:
            continue
        outs = [a for s in op.outputs if s.parameter in ("Out", "Output", "Y") for a in s.arguments]
        var = tensors.get(outs[0]) if outs else None
        if var is None or var.persistable or not var.type.HasField("lod_tensor"):
            continue
        if var.type.lod_tensor.tensor.data_type != 5:  # FP32 only: the comparison is of float outputs
            continue
        points.append(CutPoint(i, op.type, outs[0]))
    return points


def writers(data: bytes, where: str = "program") -> dict[str, tuple[int, str]]:
    """Each tensor of block 0 an op writes: the index and type of the last op that writes it."""
    block = parse_program(data, where).blocks[0]
    return {a: (i, op.type) for i, op in enumerate(block.ops) for s in op.outputs for a in s.arguments}


def dequantized_aliases(data: bytes, where: str = "program") -> dict[str, str]:
    """A quantized program's dequantize ops: the tensor they read (int8 scale) -> the one they write (real values,
    what the next op reads in place of the fp32 program's tensor)."""
    aliases = {}
    for op in parse_program(data, where).blocks[0].ops:
        if "dequantize" not in op.type or op.type.startswith("fake_quantize_dequantize"):
            continue
        ins = [a for s in op.inputs if s.parameter == "X" for a in s.arguments]
        outs = [a for s in op.outputs if s.parameter in ("Out", "Y") for a in s.arguments]
        if ins and outs:
            aliases[ins[0]] = outs[0]
    return aliases


def _needed(ops: list[Any], tensor: str) -> list[Any]:
    """The ops `tensor` depends on (feed included), in program order: a branch the cut does not reach is dropped
    (measured: opt 2.13's int8 passes crash on a quantized program's dangling branches)."""
    wanted, kept = {tensor}, []
    for op in reversed(ops):
        outs = {a for s in op.outputs for a in s.arguments}
        if op.type == "feed" or outs & wanted:
            kept.append(op)
            wanted |= {a for s in op.inputs for a in s.arguments}
    return kept[::-1]


def cut_program(data: bytes, point: CutPoint, where: str = "program") -> bytes:
    """The ops up to `point` that its tensor depends on, fetching that tensor (column 0) and nothing else."""
    from paddle.base.proto import framework_pb2

    desc = parse_program(data, where)
    block = desc.blocks[0]
    fetch_template = next((op for op in block.ops if op.type == "fetch"), None)
    if fetch_template is None:
        raise ModelFormatError(f"{where}: the program has no fetch op, so it is not an inference model")
    fetch = framework_pb2.OpDesc()
    fetch.CopyFrom(fetch_template)
    kept = _needed([op for i, op in enumerate(block.ops) if i <= point.index and op.type != "fetch"], point.tensor)
    del fetch.inputs[:]
    fetch.inputs.add(parameter="X", arguments=[point.tensor])
    for a in fetch.attrs:
        if a.name == "col":
            a.i = 0
    del block.ops[:]
    block.ops.extend([*kept, fetch])
    return bytes(desc.SerializeToString())
