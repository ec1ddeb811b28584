"""The `hist` calibration in one pass over the samples. Paddle's hist algorithm runs every sample twice: once for each
activation's |x| range, then again to count |x| into 2048 equal bins over that range, and takes the bin where the
cumulative share reaches `percent` (0.9999). Only the top (1 - percent) of the values decides that bin, so one pass
that keeps the range and the K largest |x| overall (K just over (1 - percent) of all values) gives the same
threshold: above any bin the threshold can fall in, the counts of the K largest are the counts of all values, and
the rest is counted in the first bin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


def tail_size(total_values: int, percent: float) -> int:
    """How many of the largest values decide the `percent` bin of `total_values` values (strictly more than the
    (1 - percent) share, with a margin of one for rounding)."""
    return math.floor((1.0 - percent) * total_values) + 2


@dataclass
class _Activation:
    abs_min: float = math.inf
    abs_max: float = -math.inf
    count: int = 0
    top: NDArray[Any] | None = None  # the largest |x| so far, at most `keep` of them
    floor: float = -math.inf  # the smallest of `top` once it holds `keep` values: nothing at or below it can enter


class TailSampler:
    """Per activation: |x| range, value count and the largest values over `batches` samples of equal size (the
    fixed input shape). A sample's values above the running floor are merged into the kept ones, so after the first
    sample a large activation costs one comparison pass, not a selection over all of it."""

    def __init__(self, percent: float, batches: int):
        self.percent = percent
        self.batches = batches
        self._acts: dict[str, _Activation] = {}

    def add(self, name: str, abs_values: NDArray[Any]) -> tuple[float, float]:
        """One sample's |x| of activation `name`. Returns its |x| range so far."""
        flat = abs_values.reshape(-1)
        act = self._acts.setdefault(name, _Activation())
        keep = tail_size(flat.size * self.batches, self.percent)
        merged = flat if act.top is None else np.concatenate([act.top, flat[flat > act.floor]])
        if merged.size > keep:
            merged = np.partition(merged, merged.size - keep)[merged.size - keep :]
        act.top = np.array(merged, copy=True)
        act.floor = float(merged.min()) if merged.size >= keep else -math.inf
        act.abs_min = min(act.abs_min, float(flat.min()))
        act.abs_max = max(act.abs_max, float(merged.max()))
        act.count += flat.size
        return act.abs_min, act.abs_max

    def histogram(self, name: str, bins: int) -> tuple[NDArray[Any], NDArray[Any]]:
        """Counts and edges over (abs_min, abs_max) as the two-pass histogram has them above the `percent` bin."""
        act = self._acts[name]
        assert act.top is not None
        tail = act.top.astype(np.float64)  # float64 edges, as Paddle's histogram has them
        hist, edges = np.histogram(tail, bins=bins, range=(act.abs_min, act.abs_max))
        hist[0] += act.count - tail.size
        return hist, edges

    def names(self) -> list[str]:
        return list(self._acts)
