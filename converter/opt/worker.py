"""Child process around paddlelite.lite.Opt. opt abort()s the whole process on unsupported ops or unreadable
files, so it never runs inside the toolkit's own process: converter/opt/run.py starts this module and reads its
output. Usage: python -m converter.opt.worker --model-file F --param-file F --target arm|x86
[--precision fp32] (--preflight | --out STEM)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m converter.opt.worker")
    p.add_argument("--model-file", required=True)
    p.add_argument("--param-file", required=True)
    p.add_argument("--target", required=True, choices=["arm", "x86"])
    p.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "int8", "int8w", "int16w"])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preflight", action="store_true", help="print the model's op support table and exit")
    mode.add_argument("--out", help="output path WITHOUT .nb (opt appends it)")
    args = p.parse_args(argv)

    from paddlelite import lite

    opt = lite.Opt()
    opt.set_model_file(args.model_file)
    opt.set_param_file(args.param_file)
    opt.set_model_type("naive_buffer")
    if args.precision == "fp16":
        opt.enable_fp16()  # must precede set_valid_places, which reads the flag when called
    opt.set_valid_places(args.target)
    if args.precision in ("int8w", "int16w"):  # weight-only; full int8 comes as a quantized program (plain opt)
        opt.set_quant_model(True)
        opt.set_quant_type("QUANT_INT8" if args.precision == "int8w" else "QUANT_INT16")
    sys.stdout.flush()
    if args.preflight:
        opt.check_if_model_supported(True)  # prints the table, then exits the process (1) or aborts
        return 0
    if args.out.endswith(".nb"):
        print("error: --out must not end in .nb (opt appends it)", file=sys.stderr)
        return 2
    opt.set_optimize_out(args.out)
    opt.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
