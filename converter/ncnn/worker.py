"""Child process that runs a converted model on the desktop: the ONNX file with onnxruntime, or the ncnn files with
the ncnn wheel (x86 kernels, one thread, fp32). A model ncnn cannot run may crash the process (an ONNX Split
without sizes becomes a Slice that segfaults), so it never runs in the toolkit's own process.

Usage: python -m converter.ncnn.worker (--onnx F | --param P --bin B) --inputs in.npz --outputs out.npz
in.npz holds NCHW float32 arrays (one per image); out.npz gets the first output of each, same keys."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

INPUT, OUTPUT = "in0", "out0"  # the blobs pnnx names a one-input, one-output model's


def _onnx(path: str, inputs: dict[str, Any]) -> dict[str, Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return {k: session.run(None, {name: x})[0] for k, x in inputs.items()}


def _ncnn(param: str, weights: str, inputs: dict[str, Any]) -> dict[str, Any]:
    import ncnn

    net = ncnn.Net()
    net.opt.num_threads = 1
    net.opt.use_fp16_packed = net.opt.use_fp16_storage = net.opt.use_fp16_arithmetic = False
    if net.load_param(param) != 0 or net.load_model(weights) != 0:
        raise SystemExit(f"ncnn cannot load {param}")
    out = {}
    for k, x in inputs.items():
        ex = net.create_extractor()
        ex.input(INPUT, ncnn.Mat(np.ascontiguousarray(x[0])))
        rc, mat = ex.extract(OUTPUT)
        if rc != 0:
            raise SystemExit(f"ncnn extract failed ({rc})")
        out[k] = np.array(mat)[None].copy()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m converter.ncnn.worker")
    p.add_argument("--onnx")
    p.add_argument("--param")
    p.add_argument("--bin")
    p.add_argument("--inputs", required=True)
    p.add_argument("--outputs", required=True)
    args = p.parse_args(argv)
    with np.load(args.inputs) as data:
        inputs = {k: data[k].astype(np.float32) for k in data.files}
    out = _onnx(args.onnx, inputs) if args.onnx else _ncnn(args.param, args.bin, inputs)
    np.savez(args.outputs, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
