"""Temporal smoothing of a video's person probabilities, the step the Python reference pipeline and the Android demo
share (its parameters travel in model_spec.json; the Java core implements the same arithmetic).

An exponential moving average of the foreground probability, gated per pixel by how much the frame changed there:
where the picture is still, the new probability is blended with the previous smoothed one (history weight
1 - alpha), which damps a mask that flickers on a static scene; where the luminance changed by `gate` or more (a
moving edge, a person walking in), the new probability is taken as is, so nothing lags behind motion. Between the
two the weight ramps linearly:

    change(p) = |Y_t(p) - Y_{t-1}(p)| / 255                 (luminance at model resolution)
    w(p)      = alpha + (1 - alpha) * min(1, change(p) / gate)
    s_t(p)    = w(p) * prob_t(p) + (1 - w(p)) * s_{t-1}(p),   s_0 = prob_0

Every quantity is float32 and the operations are in this order, so the Java core gives the same values to rounding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class SmoothingParams:
    alpha: float = 0.5  # weight of the new frame where the picture is still (1: no smoothing)
    gate: float = 0.08  # luminance change (0..1) from which a pixel counts as moving and is not smoothed

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"smoothing alpha {self.alpha} must be in (0, 1]")
        if not self.gate > 0.0:
            raise ValueError(f"smoothing gate {self.gate} must be > 0")


def luminance(rgb: NDArray[Any]) -> NDArray[np.float32]:
    """Y of an RGB uint8 image (BT.601 weights), float32 0..255."""
    f = rgb.astype(np.float32)
    return np.asarray(np.float32(0.299) * f[..., 0] + np.float32(0.587) * f[..., 1] + np.float32(0.114) * f[..., 2])


@dataclass
class TemporalSmoother:
    """State across the frames of one stream: the previous luminance and smoothed probability."""

    params: SmoothingParams
    prev_y: NDArray[np.float32] | None = None
    prev_s: NDArray[np.float32] | None = None

    def step(self, prob: NDArray[Any], y: NDArray[Any]) -> NDArray[np.float32]:
        """prob: this frame's foreground probability at model resolution (H x W); y: its luminance, same size."""
        p = np.asarray(prob, np.float32)
        yy = np.asarray(y, np.float32)
        if p.shape != yy.shape:
            raise ValueError(f"probability {p.shape} and luminance {yy.shape} differ in size")
        if self.prev_s is None or self.prev_y is None or self.prev_s.shape != p.shape:
            out = p.copy()
        else:
            a = np.float32(self.params.alpha)
            change = np.abs(yy - self.prev_y) / np.float32(255.0)
            w = a + (np.float32(1.0) - a) * np.minimum(np.float32(1.0), change / np.float32(self.params.gate))
            out = np.asarray(w * p + (np.float32(1.0) - w) * self.prev_s, np.float32)
        self.prev_y, self.prev_s = yy, out
        return out


class Temporal(Protocol):
    """One stream's temporal step, whichever the spec names: the frame's probability and the frame itself (RGB uint8
    at the model's input size) in, the smoothed probability out."""

    def step(self, prob: NDArray[Any], rgb: NDArray[Any]) -> NDArray[np.float32]: ...


@dataclass
class GatedEma:
    """The gated EMA behind the Temporal interface: it reads the frame's luminance."""

    smoother: TemporalSmoother

    def step(self, prob: NDArray[Any], rgb: NDArray[Any]) -> NDArray[np.float32]:
        return self.smoother.step(prob, luminance(rgb))
