"""The Paddle 3 reference, run inside the Paddle 3 environment (converter/reference/paddle3_env.py), never in the
toolkit's own: Paddle 2.6 and 3.x cannot share an interpreter. It imports nothing of the toolkit (started by file path).

python paddle3_worker.py MODEL.json PARAMS.pdiparams [--no-ir-optim]

It loads the model with Paddle Inference (CPU, one thread, oneDNN off: Paddle 3.3.1 cannot run some exports with
it), answers one JSON line on its stdout with its Paddle version and the model's inputs and outputs, then serves
one request per stdin line: {"inputs": ["x.npy", ...], "out": "DIR"} -> each output written as DIR/<k>.npy, answer
{"outputs": ["DIR/0.npy", ...]}; {"error": "..."} when a request fails. Paddle's own prints go to stderr: stdout
carries the protocol only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _protocol_stream() -> Any:
    """The real stdout for answers; fd 1 then points at stderr, so nothing else can write into the protocol."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def main(argv: list[str]) -> int:
    answers = _protocol_stream()

    def say(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    ir_optim = "--no-ir-optim" not in argv
    argv = [a for a in argv if a != "--no-ir-optim"]
    if len(argv) != 2:
        say({"error": "usage: paddle3_worker.py MODEL.json PARAMS.pdiparams [--no-ir-optim]"})
        return 2
    try:
        import numpy as np
        import paddle
        from paddle import inference

        config = inference.Config(argv[0], argv[1])
        config.disable_gpu()
        config.disable_mkldnn()
        config.switch_ir_optim(ir_optim)
        config.set_cpu_math_library_num_threads(1)
        config.disable_glog_info()
        predictor = inference.create_predictor(config)
    except Exception as e:  # noqa: BLE001 - any load failure is reported to the parent, which names the model
        say({"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"})
        return 1
    inputs, outputs = predictor.get_input_names(), predictor.get_output_names()
    say({"ready": True, "paddle_version": paddle.__version__, "inputs": inputs, "outputs": outputs})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            arrays = [np.load(p) for p in request["inputs"]]
            if len(arrays) != len(inputs):
                raise ValueError(f"the model has {len(inputs)} inputs, got {len(arrays)}")
            for name, x in zip(inputs, arrays, strict=True):
                handle = predictor.get_input_handle(name)
                handle.reshape(list(x.shape))
                handle.copy_from_cpu(np.ascontiguousarray(x))
            predictor.run()
            paths = []
            for k, name in enumerate(outputs):
                path = os.path.join(request["out"], f"{k}.npy")
                np.save(path, np.array(predictor.get_output_handle(name).copy_to_cpu()))
                paths.append(path)
            say({"outputs": paths})
        except Exception as e:  # noqa: BLE001 - reported to the parent, which raises its own error
            say({"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
