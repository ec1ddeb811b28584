"""Cutting an inference program at one of its tensors: the ops up to the one that writes it, and a fetch of it as the
only output. Every variable stays declared (persistable ones included), so the combined parameters file, which is
read in the order of the program's persistable variables, still loads; ops after the cut are dropped. Used to compare
a converted variant with desktop Paddle Inference layer by layer: each cut converts and runs as a model of its own."""

from __future__ import annotations

from dataclasses import dataclass

from converter.graph_fixes import parse_program
from converter.model_files import ModelFormatError

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


def cut_program(data: bytes, point: CutPoint, where: str = "program") -> bytes:
    """The program up to `point`, fetching its tensor (column 0) and nothing else."""
    from paddle.base.proto import framework_pb2

    desc = parse_program(data, where)
    block = desc.blocks[0]
    fetch_template = next((op for op in block.ops if op.type == "fetch"), None)
    if fetch_template is None:
        raise ModelFormatError(f"{where}: the program has no fetch op, so it is not an inference model")
    fetch = framework_pb2.OpDesc()
    fetch.CopyFrom(fetch_template)
    kept = [op for i, op in enumerate(block.ops) if i <= point.index and op.type != "fetch"]
    del fetch.inputs[:]
    fetch.inputs.add(parameter="X", arguments=[point.tensor])
    for a in fetch.attrs:
        if a.name == "col":
            a.i = 0
    del block.ops[:]
    block.ops.extend([*kept, fetch])
    return bytes(desc.SerializeToString())
