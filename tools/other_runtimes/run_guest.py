"""Guest side: one runtime on one model file, inside the arm64 Python root under qemu-aarch64 (Python 3.11 and the
pinned aarch64 wheels only; nothing of the toolkit is imported). One process loads the model, runs `--runs`
inferences on the same input with one thread, and saves the first inference's output as NCHW float32: two such
processes (3 runs and 1) give the instructions of one inference as half their difference.

Usage: python3 run_guest.py --runtime ort|mnn|litert --model FILE --precision fp32|fp16 --input x.npy --runs N
       --output y.npy
Prints `version: <runtime> <version>` first. Exit 0 when every run finished; anything else is the runtime's own
failure (its message on stderr)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

Infer = Callable[[], Any]
XNNPACK_FLAG_QS8, XNNPACK_FLAG_QU8, XNNPACK_FLAG_FORCE_FP16 = 0x1, 0x2, 0x4  # tflite xnnpack_delegate.h


def onnxruntime(model: str, precision: str, x: np.ndarray) -> tuple[str, Infer]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}  # a float16 file keeps float32 inputs and outputs (keep_io_types)
    return f"onnxruntime {ort.__version__}", lambda: session.run(None, feed)[0]


def mnn(model: str, precision: str, x: np.ndarray) -> tuple[str, Infer]:
    import MNN
    import MNN.expr as F
    from MNN import nn

    config = {"backend": "CPU", "numThread": 1, "precision": "low" if precision == "fp16" else "high"}
    runtime = nn.create_runtime_manager((config,))
    info = nn.load_module_from_file(model, [], [], runtime_manager=runtime).get_info()
    module = nn.load_module_from_file(model, info["inputNames"], info["outputNames"], runtime_manager=runtime)
    var = F.const(x, list(x.shape), F.NCHW)

    def infer() -> Any:
        out = F.convert(module.forward([var])[0], F.NCHW)
        # read() is a view of the Var's memory: copy it while the Var lives (a view outliving it read freed memory,
        # whose first bytes the allocator had overwritten)
        return np.array(out.read(), dtype=np.float32, copy=True)

    return f"MNN {MNN.version()}", infer


def litert(model: str, precision: str, x: np.ndarray) -> tuple[str, Infer]:
    from importlib.metadata import version

    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.options import CpuOptions, Options

    flags = XNNPACK_FLAG_QS8 | XNNPACK_FLAG_QU8 | (XNNPACK_FLAG_FORCE_FP16 if precision == "fp16" else 0)
    options = Options(cpu_options=CpuOptions(num_threads=1, xnnpack_flags=flags))
    compiled = CompiledModel.from_file(model, options=options)
    inputs, outputs = compiled.create_input_buffers(0), compiled.create_output_buffers(0)
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # onnx2tf writes NHWC inputs and outputs
    inputs[0].write(nhwc)
    details = compiled.get_output_tensor_details(compiled.get_signature_by_index(0)["key"])
    shape = list(next(iter(details.values()))["shape"])
    size = int(np.prod(shape))

    def infer() -> Any:
        compiled.run_by_index(0, inputs, outputs)
        return outputs[0].read(size, np.float32).reshape(shape).transpose(0, 3, 1, 2)

    return f"ai-edge-litert {version('ai-edge-litert')}", infer


RUNTIMES = {"ort": onnxruntime, "mnn": mnn, "litert": litert}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", choices=sorted(RUNTIMES), required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--precision", choices=["fp32", "fp16"], required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--output", required=True)
    args = ap.parse_args()
    x = np.load(args.input).astype(np.float32)
    name, infer = RUNTIMES[args.runtime](args.model, args.precision, x)
    print(f"version: {name}", flush=True)
    first = np.asarray(infer(), dtype=np.float32)
    np.save(args.output, first)
    for _ in range(args.runs - 1):
        infer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
