"""In the ONNX fp16 venv only (build/other-runtimes/venv-ort): a float16 copy of the ONNX file for ONNX Runtime's
fp16 CPU kernels (MLAS on ARMv8.2 runs float16 Conv and friends; ONNX Runtime has no precision switch, the file's
types decide). Inputs and outputs stay float32 (keep_io_types), as the app feeds them.

Usage: venv-ort/bin/python convert_fp16_onnx.py MODEL.onnx OUT.onnx"""

from __future__ import annotations

import sys
import warnings

import onnx
from onnxconverter_common import float16


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: convert_fp16_onnx.py MODEL.onnx OUT.onnx", file=sys.stderr)
        return 2
    src, out = argv
    with warnings.catch_warnings():  # one warning per weight below fp16's smallest normal, clamped to 1e-7
        warnings.simplefilter("ignore", UserWarning)
        model = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True)
    onnx.save(model, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
