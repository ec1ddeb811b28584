"""Where Paddle-Lite x86 spends an inference, by kernel family: Linux `perf record` (the cpu-clock software event, so
no hardware counters are needed) around the inference loop of an x86 .nb, its samples grouped by symbol name. It
explains figures such as the graph fixes' ratio: a fix can only save the time of the kernels it removes. The one seam
to `perf`; the inference loop is benchmark.host.lite_worker in a child process (an unexpected .nb cannot crash us)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmark.host.lite import SINGLE_THREAD_ENV
from benchmark.images import generated_image_set
from benchmark.records.rows import HostProfileRecord
from converter.artifacts import manifest
from converter.base import process
from converter.base.errors import ToolkitError, UsageError
from converter.images.preprocess import preprocess
from converter.nb.inspect import inspect_nb
from converter.schema.manifest_types import InputPreprocess

# Kernel families by symbol name, first match wins (MKL's sgemm inner loops are LM_/LK_/LN_LOOP... symbols).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("conv depthwise", r"depthwise"),
    ("conv direct (3x3s2, packing)", r"conv_direct|conv_3x3s2|packC8|unpackC8|im2col"),
    ("gemm (MKL sgemm/sgemv: 1x1 and other convs)", r"mkl_blas|^L[MKN]_LOOP|LWrapUp|sgemm|sgemv"),
    ("conv bias + activation epilogue", r"fill_bias_act"),
    ("batch_norm", r"BatchNorm"),
    ("activation", r"Relu|Activate|[Hh]ard_?[Ss]wish|[Hh]ard_?[Ss]igmoid|Sigmoid"),
    ("elementwise", r"[Ee]lementwise|add_ps|mul_ps|loadu_ps|storeu_ps"),
    ("interpolate", r"interp"),
    ("pool", r"Pool"),
    ("softmax", r"Softmax|Exp|StrideScal"),
    ("copies (reshape, concat, memcpy)", r"mem(move|cpy|set)|[Rr]eshape|[Cc]oncat"),
    ("OpenMP runtime", r"kmp_|GOMP|gomp"),
)
OTHER = "other (framework, Python, libc)"
_LINE = re.compile(r"^\s*([0-9.]+)%\s+\[[.k]\]\s+(.+?)\s*$")


def family(symbol: str) -> str:
    for name, pattern in FAMILIES:
        if re.search(pattern, symbol):
            return name
    return OTHER


def parse_report(text: str) -> list[tuple[str, float]]:
    """(symbol, percent) rows of `perf report --stdio --sort sym`."""
    rows = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            rows.append((m.group(2), float(m.group(1))))
    return rows


def group(rows: list[tuple[str, float]]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for symbol, pct in rows:
        name = family(symbol)
        shares[name] = shares.get(name, 0.0) + pct
    return dict(sorted(((k, round(v, 2)) for k, v in shares.items()), key=lambda kv: -kv[1]))


def _perf() -> str:
    perf = shutil.which("perf")
    if not perf:
        raise ToolkitError("perf (Linux perf) is not installed: install it (Debian/Ubuntu: apt-get install linux-perf)")
    return perf


def perf_usable() -> bool:
    """Whether perf is installed and may record a cpu-clock profile of this user's processes."""
    perf = shutil.which("perf")
    if not perf:
        return False
    with tempfile.TemporaryDirectory(prefix="perf-check-") as tmp:
        res = process.run([perf, "record", "-e", "cpu-clock", "-o", f"{tmp}/perf.data", "true"], timeout_s=60.0)
    return res.returncode == 0 and not res.timed_out


def _check_x86(nb: Path) -> None:
    info = inspect_nb(nb)
    if info.target != "x86":
        raise ToolkitError(f"{nb}: holds {info.target} kernels; only an x86 .nb can be profiled on this host")


def perf_nb(
    nb: Path, x: NDArray[Any], *, runs: int = 200, warmup: int = 10, timeout_s: float = 600.0
) -> HostProfileRecord:
    """perf samples of `runs` single-thread inferences of an x86 .nb on input x."""
    _check_x86(nb)
    perf = _perf()
    with tempfile.TemporaryDirectory(prefix="host-profile-") as tmp:
        t = Path(tmp)
        ctl, data = t / "ctl.fifo", t / "perf.data"
        os.mkfifo(ctl)
        np.savez(t / "in.npz", **{"0/0": x})
        worker = [sys.executable, "-m", "benchmark.host.lite_worker", "--model", str(nb), "--inputs", str(t / "in.npz")]
        worker += ["--outputs", str(t / "out.npz"), "--warmup", str(warmup), "--repeat", str(runs)]
        worker += ["--perf-control", str(ctl)]
        argv = [perf, "record", "-e", "cpu-clock", "-F", "999", "-D", "-1", "--control", f"fifo:{ctl}"]
        argv += ["-o", str(data), "--", *worker]
        rec = process.run(argv, timeout_s=timeout_s, env=SINGLE_THREAD_ENV)
        if rec.timed_out:
            raise ToolkitError(f"{nb}: perf record did not finish within {timeout_s:.0f} s")
        if rec.returncode != 0 or not data.is_file():
            raise ToolkitError(
                f"{nb}: perf record failed (exit {rec.returncode}); profiling needs perf events for this user "
                f"(/proc/sys/kernel/perf_event_paranoid <= 2):\n  {rec.tail(6)}"
            )
        rep = process.run(
            [perf, "report", "-i", str(data), "--stdio", "--no-children", "--sort", "sym", "-g", "none"],
            timeout_s=120.0,
        )
        rows = parse_report(rep.stdout)
        if rep.returncode != 0 or not rows:
            raise ToolkitError(f"{nb}: perf report gave no samples (exit {rep.returncode}):\n  {rep.tail(6)}")
        run_ms = _run_ms(rec.stdout)
        samples = _samples(rec.stderr)
    return HostProfileRecord(
        nb=str(nb),
        runs=runs,
        samples=samples,
        event="cpu-clock",
        median_ms=float(np.median(run_ms)) if run_ms else float("nan"),
        shares_percent=group(rows),
        top_symbols=[(s[:120], p) for s, p in rows[:12]],
    )


def _run_ms(stdout: str) -> list[float]:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return [float(v) for v in json.loads(line)["run_ms"]]
        except (ValueError, KeyError, TypeError):
            continue
    return []


def _samples(stderr: str) -> int:
    m = re.search(r"\((\d+) samples\)", stderr)
    return int(m.group(1)) if m else 0


def timing_input(nb: Path, shape: tuple[int, int, int, int] | None = None) -> NDArray[Any]:
    """The natural-looking generated image (not noise: host-performance.md pitfall 6), preprocessed as the manifest
    beside the .nb (or one folder up, for unfixed/) says, or to --input-shape."""
    pre = None
    if shape:
        _, _, h, w = shape
        pre = InputPreprocess.standard(w, h)
    for folder in (nb.parent, nb.parent.parent) if pre is None else ():
        data = manifest.read(folder)
        if data is not None:
            pre = data.preprocess
            break
    if pre is None:
        raise ToolkitError(f"{nb}: no manifest beside it (or one folder up); pass --input-shape 1,3,H,W")
    return preprocess(generated_image_set().items[0].bgr, pre)


def perf_files(
    nbs: list[Path], *, input_shape: tuple[int, int, int, int] | None, runs: int, warmup: int
) -> list[HostProfileRecord]:
    """Each x86 .nb profiled in turn; a file that is not there or not an x86 .nb is refused before any profiling."""
    if runs < 1:
        raise UsageError("--runs must be >= 1")
    for nb in nbs:
        if not nb.is_file():
            raise UsageError(f"{nb}: no such file")
        _check_x86(nb)  # before looking for its manifest: a file that is no x86 .nb is the first thing to say
    return [perf_nb(nb, timing_input(nb, input_shape), runs=runs, warmup=warmup) for nb in nbs]
