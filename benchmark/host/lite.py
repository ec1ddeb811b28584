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

from converter import process
from converter.errors import ToolkitError
from converter.nb_inspect import inspect_nb

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
