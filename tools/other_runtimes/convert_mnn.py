"""In the MNN venv only (build/other-runtimes/venv-mnn): ONNX -> .mnn with the MNN wheel's converter, fp32 weights.

It calls the converter's C extension (`_tools.mnnconvert`) directly. The wheel's `mnnconvert` entry point
(MNN.tools.mnnconvert.main) also imports MNN.tools.utils.log, which runs `pip install -U aliyun-log-python-sdk`
through os.system when that package is missing, then sends the conversion's details and the machine id to a remote
log service: neither happens here. fp16 is a run-time setting of MNN (precision low), so one .mnn serves both.

Usage: venv-mnn/bin/python convert_mnn.py MODEL.onnx OUT.mnn"""

from __future__ import annotations

import sys

import _tools  # the MNN wheel's converter extension (top-level module of the wheel)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: convert_mnn.py MODEL.onnx OUT.mnn", file=sys.stderr)
        return 2
    onnx, out = argv
    _tools.mnnconvert(["mnnconvert", "-f", "ONNX", "--modelFile", onnx, "--MNNModel", out, "--bizCode", "MNN"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
