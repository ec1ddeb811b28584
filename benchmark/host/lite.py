"""Paddle-Lite x86 on the host, always in an isolated child process (benchmark/host/lite_worker.py), so a crash of
the native runtime becomes an error message. The `.nb` target is checked first without loading it."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from converter.artifacts import manifest
from converter.base import process
from converter.base.errors import ToolkitError, UsageError
from converter.images.preprocess import preprocess
from converter.nb.inspect import inspect_nb
from converter.schema.manifest_types import InputPreprocess

# The x86 wheel binds no set_threads; the math library reads these (one thread, like the phone runs).
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class LiteRunError(ToolkitError):
    """The Paddle-Lite x86 runtime refused or failed to run a .nb."""


@dataclass(frozen=True)
class LiteBatchResult:
    outputs: list[dict[str, NDArray[Any]]]
    init_ms: float
    run_ms: list[float]


class LiteHostRunner:
    def __init__(self, nb_path: Path, timeout_s: float = 120.0) -> None:
        info = inspect_nb(nb_path)
        if info.target != "x86":
            raise LiteRunError(
                f"{nb_path}: this .nb holds {info.target} kernels; the host (x86) Paddle-Lite runtime cannot "
                "execute it (loading it would crash the runtime). Use the x86 file converted with "
                "`python -m converter --targets x86` (build/models/<name>/x86-fp32.nb)"
            )
        self.nb_path = nb_path
        self.info = info
        self.timeout_s = timeout_s

    def run_batch(self, items: list[list[NDArray[Any]]]) -> LiteBatchResult:
        """Run every item (a list of inputs in feed order) in one child process."""
        if not items:
            return LiteBatchResult([], 0.0, [])
        with tempfile.TemporaryDirectory(prefix="lite-host-") as tmp:
            inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
            np.savez(inp, **{f"{i}/{k}": x for i, xs in enumerate(items) for k, x in enumerate(xs)})
            argv = [
                sys.executable,
                "-m",
                "benchmark.host.lite_worker",
                "--model",
                str(self.nb_path),
                "--inputs",
                str(inp),
                "--outputs",
                str(out),
            ]
            timeout = self.timeout_s + 5.0 * len(items)
            res = process.run(argv, timeout_s=timeout, env=SINGLE_THREAD_ENV)
            if res.timed_out:
                raise LiteRunError(f"{self.nb_path}: Paddle-Lite x86 did not finish within {timeout:.0f} s")
            if res.returncode != 0 or not out.is_file():
                how = f"was killed by {res.signal_name}" if res.signal_name else f"exited with {res.returncode}"
                raise LiteRunError(f"{self.nb_path}: the Paddle-Lite x86 runtime {how}:\n  {res.tail(8)}")
            try:
                meta = json.loads(res.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise LiteRunError(f"{self.nb_path}: unreadable worker report: {res.tail(4)}") from None
            data = np.load(out)
            outputs: list[dict[str, NDArray[Any]]] = [{} for _ in items]
            for key in data.files:
                item, name = key.split("/", 1)
                outputs[int(item)][name] = data[key]
            return LiteBatchResult(outputs, float(meta["init_ms"]), [float(x) for x in meta["run_ms"]])


def median_run_ms(nb_path: Path, input_shape: list[int], *, runs: int, warmup: int = 10) -> float:
    """Paddle-Lite x86 on an x86 .nb timed around predictor.run() in one process (1 thread, all-ones input, like
    benchmark_bin without --input_data_path): the median of `runs` runs after `warmup`."""
    import numpy as np

    x = np.ones(input_shape, dtype=np.float32)
    res = LiteHostRunner(nb_path).run_batch([[x]] * (runs + warmup))
    return float(np.median(res.run_ms[warmup:]))


def run_on_host(nb_path: Path, images: Any, *, input_shape: list[int] | None) -> LiteBatchResult:
    """An x86 .nb on every image, preprocessed as its manifest says (or with --input-shape and the zoo's default
    normalisation): `python -m benchmark host-run`."""
    if not nb_path.is_file():
        raise UsageError(f"{nb_path}: no such file")
    if input_shape:
        _, _, h, w = input_shape
        pre = InputPreprocess.standard(w, h)
    else:
        data = manifest.read(nb_path.parent)
        if data is None:
            raise UsageError(f"no manifest beside {nb_path}; pass --input-shape 1,3,H,W")
        pre = data.preprocess
    return LiteHostRunner(nb_path).run_batch([[preprocess(i.bgr, pre)] for i in images.items])
