"""Builds tiny real Paddle models for tests, in a child process (paddle.enable_static is process-global).

python tests/model_factory.py KIND OUT_DIR, KIND one of:
  small        conv + softmax inference model, input [1, 3, 16, 16] (+ deploy.yaml in the PaddleSeg 2.8 form)
  unsupported  the same with a cumprod op, which Paddle-Lite 2.13 opt does not support
  train        a training program (gradient + SGD ops) saved as model.pdmodel + model.pdiparams
  argmax32     conv + argmax(dtype int32) inference model, deploy.yaml output_op argmax / output_dtype int32
  argmax64     the same with an int64 argmax (PaddleSeg 2.6 exports)
  fp16overflow the small model with a conv bias of 1e5 on one channel: finite in fp32, past fp16's 65504
  segate       conv to 18 channels, global pooling, then a 1x1 conv to 72 channels with weights ~1e-30: the shape of
               a squeeze-excitation gate that the ARM fp16 gemv computes by reading past its filter (docs/parity.md)
  gemvtail     that gate alone: input [1, 18, 1, 1], one 1x1 conv (+ bias) to 72 channels, weights ~1e-30
"""

from __future__ import annotations

import os
import sys


def build(kind: str, out: str) -> None:
    import paddle

    paddle.enable_static()
    paddle.seed(7)
    main, startup = paddle.static.Program(), paddle.static.Program()
    with paddle.static.program_guard(main, startup):
        x = paddle.static.data("x", [1, 18, 1, 1] if kind == "gemvtail" else [1, 3, 16, 16], "float32")
        if kind == "gemvtail":
            y = prob = paddle.static.nn.conv2d(x, 72, 1)
        else:
            y = paddle.static.nn.conv2d(x, 2, 3, padding=1)
        if kind == "segate":
            y = paddle.static.nn.conv2d(x, 18, 3, padding=1)
            y = paddle.nn.functional.adaptive_avg_pool2d(y, 1)
            y = paddle.static.nn.conv2d(y, 72, 1)
        if kind == "unsupported":
            y = paddle.cumprod(y, dim=1)
        if kind == "train":
            paddle.optimizer.SGD(0.1).minimize(paddle.mean(y))
        if kind != "gemvtail":
            prob = paddle.nn.functional.softmax(y, axis=1)
        if kind.startswith("argmax"):
            prob = paddle.argmax(y, axis=1, dtype="int32" if kind == "argmax32" else "int64")
    exe = paddle.static.Executor(paddle.CPUPlace())
    exe.run(startup)
    if kind in ("gemvtail", "segate"):
        import numpy as np

        (w,) = [p for p in main.global_block().all_parameters() if list(p.shape) == [72, 18, 1, 1]]
        (b,) = [p for p in main.global_block().all_parameters() if list(p.shape) == [72]]
        rng = np.random.default_rng(0)
        for param, values in ((w, rng.standard_normal((72, 18, 1, 1)) * 1e-30), (b, rng.standard_normal(72) * 0.1)):
            v = values.astype(np.float32)
            # the low 16 bits of every fp32 value read as fp16 are a NaN: stale weight bytes past the fp16 filter, as
            # the heap leaves them after the runtime's fp32 -> fp16 weight conversion, are then sure to be NaN
            v.view(np.uint32)[...] = (v.view(np.uint32) & np.uint32(0xFFFF0000)) | np.uint32(0x7E00)
            tensor = paddle.static.global_scope().find_var(param.name).get_tensor()
            tensor.set(v, paddle.CPUPlace())
    if kind == "fp16overflow":
        import numpy as np

        (bias,) = [p for p in main.global_block().all_parameters() if list(p.shape) == [2]]
        tensor = paddle.static.global_scope().find_var(bias.name).get_tensor()
        tensor.set(np.array([1e5, 0.0], np.float32), paddle.CPUPlace())
    os.makedirs(out, exist_ok=True)
    if kind == "train":
        with open(os.path.join(out, "model.pdmodel"), "wb") as f:
            f.write(main.desc.serialize_to_string())
        persistable = [v for v in main.list_vars() if v.persistable]
        paddle.static.save_vars(exe, out, main, vars=persistable, filename="model.pdiparams")
        return
    paddle.static.save_inference_model(os.path.join(out, "model"), [x], [prob], exe, program=main)
    op = "argmax" if kind.startswith("argmax") else "softmax"
    dtype = {"argmax32": "int32", "argmax64": "int64"}.get(kind, "float32")
    with open(os.path.join(out, "deploy.yaml"), "w") as f:
        f.write(
            f"Deploy:\n  input_shape: [1, 3, 16, 16]\n  model: model.pdmodel\n  output_dtype: {dtype}\n"
            f"  output_op: {op}\n  params: model.pdiparams\n  transforms:\n"
            "  - target_size: [16, 16]\n    type: Resize\n  - type: Normalize\n"
        )


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
