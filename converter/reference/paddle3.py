"""Paddle 3.x Inference on a PIR export (`.json` + `.pdiparams`), the reference of a model exported with Paddle 3:
converter/reference/paddle3_worker.py runs it in the Paddle 3 environment (converter/reference/paddle3_env.py) and this
class speaks to it, with the same calls as converter.reference.desktop.ReferenceRunner. The worker lives as long as this
object."""

from __future__ import annotations

import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.base.errors import ToolkitError
from converter.base.process import LineWorker, WorkerError
from converter.reference.paddle3_env import paddle3_python

WORKER = Path(__file__).resolve().parent / "paddle3_worker.py"
LOAD_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 300.0


class Paddle3ReferenceError(ToolkitError):
    """Paddle 3 Inference could not load or run a PIR export."""


class Paddle3Reference:
    def __init__(
        self, model_file: Path, params_file: Path, *, ir_optim: bool = True, log_dir: Path | None = None
    ) -> None:
        self.model_file = model_file
        python = paddle3_python()
        self._tmp = tempfile.TemporaryDirectory(prefix="pplite-paddle3-")
        log_path = (log_dir or Path(self._tmp.name)) / "paddle3_worker.log"
        argv = [str(python), str(WORKER), str(model_file), str(params_file), *([] if ir_optim else ["--no-ir-optim"])]
        self._worker = LineWorker(argv, log_path=log_path)
        self._finalizer = weakref.finalize(self, _shut, self._worker, self._tmp)
        self._lock = threading.Lock()
        try:
            hello = self._worker.read(LOAD_TIMEOUT_S)
        except WorkerError as e:
            self.close()
            raise Paddle3ReferenceError(f"Paddle 3 Inference cannot load {model_file}: the worker {e}") from None
        if "error" in hello:
            self.close()
            raise Paddle3ReferenceError(
                f"Paddle 3 Inference cannot load {model_file} + {params_file.name}: {hello['error']}"
            )
        self.paddle_version = str(hello.get("paddle_version", "unknown"))
        self.input_names = [str(n) for n in hello.get("inputs", [])]  # type: ignore[attr-defined]
        self.output_names = [str(n) for n in hello.get("outputs", [])]  # type: ignore[attr-defined]
        self._calls = 0

    @property
    def runtime(self) -> str:
        return f"Paddle Inference {self.paddle_version} (PIR)"

    def run(self, inputs: list[NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Run once; inputs in feed order; returns every output by name (copies)."""
        if len(inputs) != len(self.input_names):
            raise Paddle3ReferenceError(
                f"{self.model_file}: the model has {len(self.input_names)} inputs, got {len(inputs)}"
            )
        with self._lock:
            folder = Path(self._tmp.name) / f"call{self._calls}"
            self._calls += 1
            folder.mkdir()
            paths = []
            for k, x in enumerate(inputs):
                paths.append(str(folder / f"in{k}.npy"))
                np.save(paths[-1], np.ascontiguousarray(x))
            try:
                answer = self._worker.request({"inputs": paths, "out": str(folder)}, RUN_TIMEOUT_S)
            except WorkerError as e:
                raise Paddle3ReferenceError(f"Paddle 3 Inference on {self.model_file}: the worker {e}") from None
            if "error" in answer:
                raise Paddle3ReferenceError(f"Paddle 3 Inference failed to run {self.model_file}: {answer['error']}")
            out_paths = answer.get("outputs", [])
            assert isinstance(out_paths, list)
            results = {name: np.load(p) for name, p in zip(self.output_names, out_paths, strict=True)}
            for p in folder.iterdir():
                p.unlink()
            folder.rmdir()
            return results

    def close(self) -> None:
        self._finalizer()


def _shut(worker: LineWorker, tmp: tempfile.TemporaryDirectory[str]) -> None:
    worker.close()
    tmp.cleanup()
