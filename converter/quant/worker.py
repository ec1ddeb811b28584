"""Child process: post-training static quantization of a Paddle inference program with Paddle's own
PostTrainingQuantization (the class PaddleSlim's quant_post_static wraps), in its fake-quant form, which opt 2.13
turns into int8 kernels. Run by converter.quant.quantize through converter/base/process.py, so Paddle's static mode
stays out of the caller; it reports progress (batches done over both calibration passes) on stderr.

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

from converter.base.progress import emit
from converter.quant.hist_tail import TailSampler

CONV_OPS = ("conv2d", "depthwise_conv2d")
HIST_PERCENT = 0.9999  # PaddleSlim's quant_post_static default, which the int8 gates were measured with


def calibration_class() -> Any:
    """Paddle 2.6's post-training quantization (what PaddleSlim's quant_post_static runs), with changes of speed,
    not of result: `hist` runs the samples once instead of twice (converter.quant.hist_tail: each sample's range and
    largest values give the same threshold, measured equal to the last bit on the V1-Server stand-in)."""
    from paddle.static.quantization import PostTrainingQuantization

    class Calibration(PostTrainingQuantization):  # type: ignore[misc]  # paddle ships no type information
        batches_done = 0
        tails: TailSampler | None = None

        def _passes(self) -> int:
            return 2 if self._algo == "KL" else 1

        def _report(self) -> None:
            """One batch done: KL runs every batch twice (each activation's range first, then its histogram),
            the other algorithms once."""
            passes, n = self._passes(), self._batch_nums
            self.batches_done += 1
            emit(self.batches_done, passes * n, f"pass {min(passes, (self.batches_done - 1) // n + 1)}/{passes}")

        def quantize(self) -> Any:
            if self._algo == "hist":
                self.tails = TailSampler(self._hist_percent, self._batch_nums)
                loader: Any = getattr(self, "_data_loader")  # noqa: B009  # set by paddle, untyped
                calls: list[int] = []

                def first_pass_only() -> Any:  # the second (histogram) pass has nothing left to count
                    calls.append(1)
                    return loader() if len(calls) == 1 else iter(())

                self._data_loader = first_pass_only
            return super().quantize()

        def _collect_activation_abs_min_max(self) -> None:
            if self.tails is None:
                super()._collect_activation_abs_min_max()
            else:
                for var_name in self._quantized_act_var_name:
                    values = np.abs(np.asarray(self._scope.find_var(var_name).get_tensor()))
                    if values.size == 0:
                        self._zero_size_var_names.add(var_name)
                        continue
                    self._sampling_act_abs_min_max[var_name] = list(self.tails.add(var_name, values))
            self._report()

        def _calculate_kl_hist_threshold(self) -> None:
            if self.tails is not None:
                for var_name in self.tails.names():
                    self._sampling_act_histogram[var_name] = list(self.tails.histogram(var_name, self._histogram_bins))
            super()._calculate_kl_hist_threshold()

        def _sampling(self) -> None:
            super()._sampling()
            self._report()

    return Calibration


def conv_weights(program: Any) -> list[str]:
    """The weight names of the convolutions, in program order (what --skip takes)."""
    return [op.input("Filter")[0] for op in program.global_block().ops if op.type in CONV_OPS]


def restore_output_names(model_file: Path, names: list[str]) -> None:
    """Paddle's PostTrainingQuantization saves through save_inference_model, which appends an identity `scale` op per
    output and fetches `save_infer_model/scale_N.tmp_0`; put the original output names back (dropping that op) so every
    variant of a model has the same outputs."""
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

    batches = paddle.io.DataLoader(
        Samples(), feed_list=[program.global_block().var(feeds[0])], places=paddle.CPUPlace(), batch_size=1,
        return_list=False,
    )  # fmt: skip
    ptq = calibration_class()(
        executor=exe,
        model_dir=str(args.model_dir),
        model_filename=args.model_file,
        params_filename=args.params_file,
        data_loader=batches,
        batch_size=1,
        batch_nums=len(samples),
        algo=args.algo,
        hist_percent=HIST_PERCENT,
        quantizable_op_type=list(CONV_OPS),
        activation_quantize_type="range_abs_max",
        weight_quantize_type="channel_wise_abs_max" if args.weights == "channel" else "abs_max",
        onnx_format=False,  # fake-quant ops: Paddle Inference runs them on the desktop, opt 2.13 reads them
        skip_tensor_list=skip or None,
    )
    ptq.quantize()
    ptq.save_quantized_model(str(args.out), model_filename="model.pdmodel", params_filename="model.pdiparams")
    restore_output_names(args.out / "model.pdmodel", [v.name for v in fetches])
    report = {"convolutions": len(convs), "quantized": len(convs) - len(skip), "skipped": skip, "algo": args.algo}
    (args.out / "quant.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
