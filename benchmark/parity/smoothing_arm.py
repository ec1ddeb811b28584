"""The temporal step's cost on the ARM emulated phone, in guest instructions per frame.

The demo runs the step in Java (core/MotionFusion, or core/TemporalSmoother for gated_ema), which cannot run here.
motion_fusion_step.c and smoothing_step.c beside this file are the same arithmetic in C, cross-compiled for aarch64
with the host's aarch64-linux-gnu-gcc (-O3, no fused multiply-add, static) into build/arm-tools/ on first use. On the
device the step runs under `insncount` twice, with 1 and with 1 + STEPS steps on the model's input size; the
difference over STEPS is one frame's step. Its output is compared with the Python step's on the same frames, so the
counted program is known to compute the step. A count is a deterministic proxy for ARM work, not a phone latency;
the ART-compiled Java will not match it exactly."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from benchmark.device.instructions import COUNTER
from benchmark.device.runner import RunnerError
from benchmark.device.session import DeviceContext
from converter.artifacts.app_spec import SpecTemporal
from converter.base import process
from converter.base.errors import ToolkitError

SOURCE = Path(__file__).with_name("smoothing_step.c")
FUSION_SOURCE = Path(__file__).with_name("motion_fusion_step.c")
CACHE = Path(__file__).resolve().parents[2] / "build" / "arm-tools"
CROSS_GCC = "aarch64-linux-gnu-gcc"
STEPS = 4  # frames counted beyond the first
# -O3: gcc's vectorizer on the per-pixel loops, as ART's loop vectorizer would; no fused multiply-add, as in Java
CFLAGS = ("-O3", "-ffp-contract=off", "-static", "-Wall")


class SmoothingCountError(ToolkitError):
    """The step could not be built, run or counted on the device, or its output differs from the Python step."""


@dataclass(frozen=True)
class SmoothingCount:
    height: int
    width: int
    totals: tuple[int, int]  # whole-process guest instructions with 1 and 1 + STEPS steps
    steps: int = STEPS
    max_abs_diff: float = 0.0  # the C step's last output against the Python step's

    @property
    def insns_per_frame(self) -> int:
        return (self.totals[1] - self.totals[0]) // self.steps


def smoothing_binary(cache: Path = CACHE, timeout_s: float = 120, source: Path = SOURCE) -> Path:
    """The aarch64 build of a step's C source, compiled now if this source version has not been."""
    digest = hashlib.sha256(source.read_bytes() + " ".join(CFLAGS).encode()).hexdigest()[:12]
    out = cache / f"{source.stem}-{digest}"
    if out.is_file():
        return out
    gcc = shutil.which(CROSS_GCC)
    if gcc is None:
        raise SmoothingCountError(
            f"counting the smoothing step on ARM needs {CROSS_GCC} to build {source.name}: "
            "apt-get install gcc-aarch64-linux-gnu"
        )
    cache.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")  # two processes may build at once
    r = process.run([gcc, *CFLAGS, "-o", str(tmp), str(source), "-lm"], timeout_s=timeout_s)
    if r.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise SmoothingCountError(f"{CROSS_GCC} could not build {source} (exit {r.returncode}): {r.tail(6)}")
    tmp.replace(out)
    return out


def _frames(height: int, width: int) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Two frames (RGB bytes, probabilities): a smooth random picture and a soft blob, the second moved by (1.3, 0.7)
    pixels, so the fusion takes its usual path (motion found, not a cut); the gated EMA has no data-dependent branch."""
    rng = np.random.default_rng(0)
    pad = 8
    noise = rng.random((height + 2 * pad, width + 2 * pad, 3)).astype(np.float32)
    big = np.asarray(cv2.GaussianBlur(noise, (0, 0), 3.0), np.float32)
    big = (big - big.min()) / max(float(big.max() - big.min()), 1e-6) * 255.0
    yy, xx = np.mgrid[0 : height + 2 * pad, 0 : width + 2 * pad].astype(np.float32)
    blob = 1.0 / (1.0 + np.exp(((xx - (width / 2 + pad)) ** 2 / (width / 4) ** 2 +
                                (yy - (height / 2 + pad)) ** 2 / (height / 3) ** 2 - 1.0) * 6.0))  # fmt: skip
    move = np.array([[1.0, 0.0, 1.3], [0.0, 1.0, 0.7]], np.float32)
    size = (width + 2 * pad, height + 2 * pad)
    rgb = [big, cv2.warpAffine(big, move, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)]
    prob = [
        blob,
        cv2.warpAffine(blob.astype(np.float32), move, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
    ]
    crop = (slice(pad, pad + height), slice(pad, pad + width))
    return (
        np.stack([np.clip(np.round(r[crop]), 0, 255).astype(np.uint8) for r in rgb]),
        np.stack([np.asarray(p[crop], np.float32) for p in prob]),
    )


def _python_step(rgb: NDArray[np.uint8], prob: NDArray[np.float32], temporal: SpecTemporal, steps: int) -> NDArray[
    np.float32
]:  # fmt: skip
    stepper = temporal.stepper()
    out: NDArray[np.float32] = prob[0]
    for t in range(steps):
        out = stepper.step(prob[t % 2], rgb[t % 2])
    return out


def _argv(temporal: SpecTemporal, exe: str, size: tuple[int, int], steps: int, files: tuple[str, str]) -> list[str]:
    (height, width), (inp, out) = size, files
    if temporal.smoothing == "motion_fusion":
        f = temporal.fusion
        return [exe, str(height), str(width), str(steps), repr(f.alpha), repr(f.gate), str(f.coarse), str(f.search),
                repr(f.cut), str(f.tile), repr(f.light), repr(f.jump), repr(f.contradict), inp, out]  # fmt: skip
    return [exe, str(height), str(width), str(steps), repr(temporal.alpha), repr(temporal.gate), inp, out]


def count_on_device(
    ctx: DeviceContext, height: int, width: int, temporal: SpecTemporal, *, timeout_s: float = 300
) -> SmoothingCount:
    """Instructions per frame of the spec's temporal step at height x width on ctx's ARM emulated phone."""
    if not ctx.counts_instructions:
        raise SmoothingCountError(f"{ctx.device.serial}: no `{COUNTER}` on this device, so nothing can be counted")
    binary = smoothing_binary(source=FUSION_SOURCE if temporal.smoothing == "motion_fusion" else SOURCE)
    rgb, prob = _frames(height, width)
    blob = b"".join(rgb[f].tobytes() + prob[f].tobytes() for f in range(2))
    exe, inp, out = (ctx.work.file(n) for n in ("smoothing_step", "smoothing-in.bin", "smoothing-out.bin"))
    ctx.device.push(binary.read_bytes(), exe, mode=0o755)
    ctx.device.push(blob, inp)
    totals = []
    for steps in (1, 1 + STEPS):
        counted = ctx.work.file(f"smoothing-insns-{steps}.txt")
        argv = [COUNTER, counted, *_argv(temporal, exe, (height, width), steps, (inp, out))]
        r = ctx.device.shell(f"{shlex.join(argv)} && cat {shlex.quote(counted)}", timeout_s=timeout_s)
        words = r.stdout.split()
        if r.returncode != 0 or len(words) < 2 or words[-2] != "insns:" or not words[-1].isdigit():
            raise SmoothingCountError(
                f"{ctx.device.serial}: the smoothing step ({steps} step(s), {height}x{width}) failed with exit code "
                f"{r.returncode}: {(r.stdout + r.stderr).strip()[-300:] or 'no insns line'}"
            )
        totals.append(int(words[-1]))
    got = np.frombuffer(ctx.device.pull(out), np.float32)
    want = _python_step(rgb, prob, temporal, 1 + STEPS).reshape(-1)
    if got.shape != want.shape:
        raise SmoothingCountError(f"{ctx.device.serial}: the smoothing step wrote {got.size} values, not {want.size}")
    diff = float(np.abs(got - want).max())
    if diff > 1e-6:
        raise SmoothingCountError(f"{ctx.device.serial}: the ARM smoothing step differs from Python's by {diff:.3g}")
    if totals[1] <= totals[0]:
        raise RunnerError(f"{ctx.device.serial}: smoothing instruction counts do not grow with the steps: {totals}")
    return SmoothingCount(height, width, (totals[0], totals[1]), max_abs_diff=diff)
