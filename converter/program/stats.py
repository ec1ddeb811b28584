"""Parameters and FLOPs of a Paddle inference model at a fixed input shape.

The zoo's programs have dynamic shapes ([-1, 3, -1, -1]), so static shape inference leaves -1 after the resize ops;
the FLOPs are counted from real shapes instead: one forward pass at the best input shape, fetching every
convolution's output. A program exported at that very shape (stand-ins, translated PIR exports) declares every
shape already, and needs no forward pass (7 s for a 512x512 DeepLabV3P here). Convolutions are 95+ % of the
arithmetic of these networks; the figure says `conv_flops` (2 x multiply-accumulates) and counts nothing else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from converter.program.read import read_program
from converter.schema.manifest_types import ModelStats

CONV_OPS = ("conv2d", "depthwise_conv2d", "conv2d_transpose")


def model_stats(model_file: Path, params_file: Path, input_shape: tuple[int, ...]) -> ModelStats:
    import paddle
    from paddle.base import core

    info = read_program(model_file)  # never hand an unchecked program to paddle
    # paddle.static.io warns that folder+file names are "the old way" through a handler bound to the stderr of the
    # moment it was created; the warning means nothing to users, so that logger is muted for this call.
    io_log = logging.getLogger("paddle.static.io")
    was_disabled, io_log.disabled = io_log.disabled, True
    paddle.enable_static()
    try:
        exe = paddle.static.Executor(paddle.CPUPlace())
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            prog, feeds, _ = paddle.static.load_inference_model(
                str(model_file.parent), exe, model_filename=model_file.name, params_filename=params_file.name
            )
            block = prog.global_block()
            convs = [op for op in block.ops if op.type in CONV_OPS]
            params = sum(
                int(np.prod(v.shape))
                for v in prog.list_vars()
                if v.persistable and v.type == core.VarDesc.VarType.LOD_TENSOR
            )
            shapes = _declared_shapes(block, feeds[0], convs, input_shape)
            if shapes is None:  # dynamic somewhere: real shapes from one forward pass
                x = np.zeros(input_shape, np.float32)
                fetched = exe.run(prog, feed={feeds[0]: x}, fetch_list=[op.output("Output")[0] for op in convs])
                shapes = [tuple(out.shape) for out in fetched]
            flops = 0
            for op, out_shape in zip(convs, shapes, strict=True):
                w = scope.find_var(op.input("Filter")[0]).get_tensor().shape()
                n, _, h, wd = out_shape
                if op.type == "conv2d_transpose":  # filter [Cin, Cout/groups, kh, kw], input = output / stride^2
                    flops += 2 * n * w[0] * w[1] * w[2] * w[3] * h * wd // max(1, op.attr("strides")[0] ** 2)
                else:  # filter [Cout, Cin/groups, kh, kw]
                    flops += 2 * n * w[0] * h * wd * w[1] * w[2] * w[3]
    finally:
        paddle.disable_static()
        io_log.disabled = was_disabled
    return ModelStats(
        parameters=params,
        conv_flops=int(flops),
        conv_layers=len(convs),
        input_shape=list(input_shape),
        input_name=info.inputs[0].name,
    )


def _declared_shapes(
    block: Any, feed: str, convs: list[Any], input_shape: tuple[int, ...]
) -> list[tuple[int, ...]] | None:
    """The convolutions' output shapes as the program declares them, when it was exported at this very input shape
    (stand-ins, translated PIR exports) and every one is known; None sends the caller to a forward pass."""
    declared = list(block.var(feed).shape)
    if declared[1:] != list(input_shape[1:]):
        return None
    shapes = []
    for op in convs:
        shape = list(block.var(op.output("Output")[0]).shape)
        if len(shape) != 4 or any(d < 0 for d in shape[1:]):
            return None
        shapes.append((input_shape[0], *shape[1:]))
    return shapes
