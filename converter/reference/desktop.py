"""The desktop reference: Paddle Inference on the CPU, one thread, on the original (unconverted) model.

The program is parsed and checked first (converter.program.read): a corrupt program makes Paddle Inference segfault,
so nothing unchecked reaches it. A Paddle 3 PIR export (`.json`) is run by Paddle 3 Inference in its own
environment (converter.reference.paddle3), never by its translation: `open_reference` picks the one a model needs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.program.read import read_program

# Paddle 2.6 Inference runs oneDNN kernels on x86 by default (3.7x faster than its own on the 512x512 V1-Server). Ops
# whose oneDNN kernel computes another thing than Paddle's own kernel, Paddle 3 and Paddle-Lite (measured): nearest
# resize with align_corners=False samples pixel 2k+1 where they sample 2k. A program holding one runs without oneDNN.
ONEDNN_DIFFERS = frozenset({"nearest_interp", "nearest_interp_v2"})
# One Paddle Inference call at a time in this process: the farm's device workers are threads sharing it.
_PADDLE = threading.Lock()


class ReferenceError(ToolkitError):
    """Paddle Inference could not load or run the model."""


class Reference(Protocol):
    """What parity needs of a reference: its inputs and outputs by name, one run, and what it is."""

    input_names: list[str]
    output_names: list[str]

    @property
    def runtime(self) -> str: ...

    def run(self, inputs: list[NDArray[Any]]) -> dict[str, NDArray[Any]]: ...

    def close(self) -> None: ...


def open_reference(model_file: Path, params_file: Path, *, ir_optim: bool = True) -> Reference:
    """The model's own framework on the desktop: Paddle 3 Inference for a PIR export (.json), else Paddle 2.6.
    `ir_optim=False`: every op as the program has it, no fusion (what the translation check compares)."""
    if model_file.suffix == ".json":
        from converter.reference.paddle3 import Paddle3Reference

        return Paddle3Reference(model_file, params_file, ir_optim=ir_optim)
    return ReferenceRunner(model_file, params_file, ir_optim=ir_optim)


class ReferenceRunner:
    def __init__(self, model_file: Path, params_file: Path, threads: int = 1, *, ir_optim: bool = True) -> None:
        program = read_program(model_file)
        self.input_names = [t.name for t in program.inputs]
        self.output_names = [t.name for t in program.outputs]
        from paddle import inference

        config = inference.Config(str(model_file), str(params_file))
        config.disable_gpu()
        if ONEDNN_DIFFERS & set(program.op_types):
            config.disable_mkldnn()
        config.switch_ir_optim(ir_optim)  # off: every op as written (oneDNN kernels come with the passes too)
        config.set_cpu_math_library_num_threads(threads)
        config.disable_glog_info()
        try:
            with _PADDLE:
                self._predictor = inference.create_predictor(config)
        except (RuntimeError, ValueError, OSError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ReferenceError(f"Paddle Inference cannot load {model_file} + {params_file.name}: {first}") from e

    @property
    def runtime(self) -> str:
        import paddle

        return f"Paddle Inference {paddle.__version__}"

    def close(self) -> None:
        """Nothing to release (the predictor goes with the object); for the Reference protocol."""

    def run(self, inputs: list[NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Run once; inputs in feed order; returns copies of every output by name."""
        if len(inputs) != len(self.input_names):
            raise ReferenceError(f"the model has {len(self.input_names)} inputs, got {len(inputs)}")
        with _PADDLE:
            return self._run_locked(inputs)

    def _run_locked(self, inputs: list[NDArray[Any]]) -> dict[str, NDArray[Any]]:
        for name, x in zip(self.input_names, inputs, strict=True):
            handle = self._predictor.get_input_handle(name)
            handle.reshape(list(x.shape))
            handle.copy_from_cpu(np.ascontiguousarray(x))
        try:
            self._predictor.run()
        except (RuntimeError, ValueError) as e:
            raise ReferenceError(f"Paddle Inference failed to run: {str(e).strip().splitlines()[0]}") from e
        return {n: np.array(self._predictor.get_output_handle(n).copy_to_cpu()) for n in self.output_names}
