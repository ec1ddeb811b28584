"""A host-side reference point for the phone's fusion: optical-flow fusion as PP-HumanSeg's own video deployment does
it (PaddleSeg contrib/PP-HumanSeg, `optic_flow_process`), rebuilt from its description with OpenCV's DIS optical flow.

Per frame, at the model's input resolution: dense flow both ways between the previous and the current grey frame
(DIS, ultrafast preset), rounded to whole pixels; a pixel of the previous fused map is tracked to where its forward
flow points when the backward flow there brings it back (squared disagreement < 8 px^2); a tracked pixel
that is still (no flow either way) weighs the new probability 0.05, a moving one 0.3; where the new probability is
sure (< 0.1 or > 0.9) the weights are 0.3 (still) and 0.4 (moving) instead; an untracked pixel takes the new
probability. Host only: DIS is not in the
demo, and a dense flow both ways costs far more than the phone's budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

CHECK_PX2 = 8


@dataclass
class DisFusion:
    flow: Any = field(default_factory=lambda: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST))  # type: ignore[attr-defined]
    prev_gray: NDArray[Any] | None = None
    prev_s: NDArray[np.float32] | None = None

    def step(self, prob: NDArray[Any], rgb: NDArray[Any]) -> NDArray[np.float32]:
        gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        cur = np.asarray(prob, np.float32)
        if self.prev_gray is None or self.prev_s is None or self.prev_s.shape != cur.shape:
            out = cur.copy()
        else:
            out = self._fuse(gray, cur)
        self.prev_gray, self.prev_s = gray, out
        return out

    def _fuse(self, gray: NDArray[Any], cur: NDArray[np.float32]) -> NDArray[np.float32]:
        assert self.prev_gray is not None and self.prev_s is not None
        h, w = cur.shape
        fw = np.round(self.flow.calc(self.prev_gray, gray, None)).astype(np.int64)
        bw = np.round(self.flow.calc(gray, self.prev_gray, None)).astype(np.int64)
        ys, xs = np.mgrid[0:h, 0:w]
        tx, ty = xs + fw[..., 0], ys + fw[..., 1]
        inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
        back = np.zeros_like(fw)
        back[inside] = bw[ty[inside], tx[inside]]
        ok = inside & (((fw + back) ** 2).sum(axis=-1) < CHECK_PX2)
        track = np.zeros_like(cur)
        tracked = np.zeros(cur.shape, bool)
        track[ty[ok], tx[ok]] = self.prev_s[ok]
        tracked[ty[ok], tx[ok]] = True
        weight = np.full(cur.shape, 0.3, np.float32)
        still = ok & np.all(fw == 0, axis=-1) & np.all(back == 0, axis=-1)
        weight[ty[still], tx[still]] = 0.05
        out = cur.copy()
        sure = (cur > 0.9) | (cur < 0.1)
        soft = tracked & ~sure
        out[soft] = weight[soft] * cur[soft] + (1 - weight[soft]) * track[soft]
        low, high = tracked & sure & (weight < 0.1), tracked & sure & (weight >= 0.1)
        out[low] = 0.3 * cur[low] + 0.7 * track[low]
        out[high] = 0.4 * cur[high] + 0.6 * track[high]
        return out
