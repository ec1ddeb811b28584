"""Child process: post-training static quantization of a Paddle inference program with PaddleSlim (its fake-quant
form, which opt 2.13 turns into int8 kernels). Run by converter.quant.quantize through converter/base/process.py, so
Paddle's static mode and PaddleSlim's progress output stay out of the caller.

Usage: python -m converter.quant.worker --model-dir D --model-file F --params-file P --samples S.npy --out OUT
       [--algo hist|mse|KL|avg] [--weights channel|tensor] [--skip w1,w2]   (writes OUT/model.pdmodel + .pdiparams
       and OUT/quant.json: the quantized and the skipped convolutions)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

CONV_OPS = ("conv2d", "depthwise_conv2d")


def conv_weights(program: Any) -> list[str]:
    """The weight names of the convolutions, in program order (what --skip takes)."""
    return [op.input("Filter")[0] for op in program.global_block().ops if op.type in CONV_OPS]


def restore_output_names(model_file: Path, names: list[str]) -> None:
    """PaddleSlim saves through save_inference_model, which appends an identity `scale` op per output and fetches
    `save_infer_model/scale_N.tmp_0`; put the original output names back (dropping that op) so every variant of a
    model has the same outputs."""
    from paddle.static import Program

    program = Program.parse_from_string(model_file.read_bytes())
    block = program.global_block()
    fetches = sorted((op for op in block.ops if op.type == "fetch"), key=lambda op: op.attr("col"))
    for fetch, want in zip(fetches, names, strict=True):
        got = fetch.input("X")[0]
        if got == want:
            continue
        index, producer = next((i, op) for i, op in enumerate(block.ops) if got in op.output_arg_names)
        identity = producer.type == "scale" and producer.attr("scale") == 1.0 and producer.attr("bias") == 0.0
        if identity and producer.input("X")[0] == want:
            block._remove_op(index)
            fetch._rename_input(got, want)
            block._remove_var(got)
        else:
            block._rename_var(got, want)
    model_file.write_bytes(program.desc.serialize_to_string())


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m converter.quant.worker")
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--model-file", required=True)
    p.add_argument("--params-file", required=True)
    p.add_argument("--samples", type=Path, required=True, help=".npy of preprocessed NCHW samples, one per row")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--algo", choices=["hist", "mse", "KL", "avg"], default="hist")
    p.add_argument("--weights", choices=["channel", "tensor"], default="channel")
    p.add_argument("--skip", default="", help="conv weight names left in fp32, comma-separated")
    p.add_argument("--list-convs", action="store_true", help="print the conv weight names as JSON and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    import paddle
    from paddleslim.quant import quant_post_static

    paddle.enable_static()
    exe = paddle.static.Executor(paddle.CPUPlace())
    prefix = str(args.model_dir / Path(args.model_file).stem)
    program, feeds, fetches = paddle.static.load_inference_model(prefix, exe)
    convs = conv_weights(program)
    if args.list_convs:
        print(json.dumps(convs))
        return 0
    samples = np.load(args.samples)
    skip = [s for s in args.skip.split(",") if s]
    unknown = [s for s in skip if s not in convs]
    if unknown:
        print(f"error: --skip names no convolution weight: {', '.join(unknown)}", file=sys.stderr)
        return 2

    class Samples(paddle.io.Dataset):  # type: ignore[misc]
        def __len__(self) -> int:
            return len(samples)

        def __getitem__(self, i: int) -> Any:
            return samples[i]

    loader = paddle.io.DataLoader(
        Samples(), feed_list=[program.global_block().var(feeds[0])], places=paddle.CPUPlace(), batch_size=1,
        return_list=False,
    )  # fmt: skip
    quant_post_static(
        exe,
        str(args.model_dir),
        str(args.out),
        data_loader=loader,
        model_filename=args.model_file,
        params_filename=args.params_file,
        batch_size=1,
        batch_nums=len(samples),
        algo=args.algo,
        quantizable_op_type=list(CONV_OPS),
        weight_quantize_type="channel_wise_abs_max" if args.weights == "channel" else "abs_max",
        onnx_format=False,  # fake-quant ops: Paddle Inference runs them on the desktop, opt 2.13 reads them
        skip_tensor_list=skip or None,
    )
    restore_output_names(args.out / "model.pdmodel", [v.name for v in fetches])
    report = {"convolutions": len(convs), "quantized": len(convs) - len(skip), "skipped": skip, "algo": args.algo}
    (args.out / "quant.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
