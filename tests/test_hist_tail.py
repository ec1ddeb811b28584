"""The one-pass `hist` calibration (converter.quant.hist_tail) gives Paddle's two-pass threshold: the same
histogram edges and the same percent bin as counting every value of every sample into the full histogram."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from converter.base.cpu import MKL_AVX2, MKL_CPU_TYPE, avx2_math_env
from converter.quant.hist_tail import TailSampler, tail_size


def percent_threshold(hist: np.ndarray, edges: np.ndarray, percent: float) -> float:
    """Paddle 2.6's own hist threshold of a histogram (the method reads only the percent from its instance)."""
    from paddle.static.quantization import PostTrainingQuantization

    calibration = SimpleNamespace(_hist_percent=percent)
    return float(PostTrainingQuantization._get_hist_scaling_factor(calibration, hist, edges))


def _two_pass(samples: list[np.ndarray], percent: float) -> float:
    lo = min(float(s.min()) for s in samples)
    hi = max(float(s.max()) for s in samples)
    edges = np.histogram([], bins=2048, range=(lo, hi))[1]  # Paddle's edges: float64 over the |x| range
    counts = sum(np.histogram(s, bins=edges)[0] for s in samples)  # Paddle's binary search over the edges
    return percent_threshold(counts, edges, percent)


@pytest.mark.parametrize("percent", [0.9999, 0.999])
@pytest.mark.parametrize("kind", ["normal", "heavy-tailed", "relu-like", "constant-heavy"])
def test_one_pass_threshold_equals_the_two_pass_histogram(kind: str, percent: float) -> None:
    rng = np.random.default_rng(hash((kind, percent)) % 2**32)
    for _ in range(8):
        batches, size = int(rng.integers(1, 7)), int(rng.integers(10, 60000))
        if kind == "normal":
            samples = [np.abs(rng.standard_normal(size)) * rng.uniform(0.5, 3) for _ in range(batches)]
        elif kind == "heavy-tailed":
            samples = [np.abs(rng.standard_cauchy(size)) for _ in range(batches)]
        elif kind == "relu-like":
            samples = [np.maximum(rng.standard_normal(size), 0) for _ in range(batches)]
        else:  # many ties: a few distinct values
            samples = [rng.integers(0, 4, size) * 0.5 for _ in range(batches)]
        samples = [s.astype(np.float32) for s in samples]
        sampler = TailSampler(percent, batches)
        for s in samples:
            sampler.add("act", s.copy())
        hist, edges = sampler.histogram("act", 2048)
        assert hist.sum() == batches * size
        assert percent_threshold(hist, edges, percent) == _two_pass(samples, percent)


def test_kept_values_stay_small() -> None:
    sampler = TailSampler(0.9999, 24)
    for _ in range(3):
        sampler.add("big", np.abs(np.random.default_rng(1).standard_normal(1_000_000)).astype(np.float32))
    keep = tail_size(24_000_000, 0.9999)
    assert keep < 3000
    hist, _ = sampler.histogram("big", 2048)
    assert hist[0] >= 3_000_000 - keep  # everything below the kept tail is counted in the first bin


def test_mkl_avx2_path_only_on_amd_with_avx2() -> None:
    amd = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert avx2_math_env(amd) == {MKL_CPU_TYPE: MKL_AVX2}
    assert avx2_math_env(amd.replace(" avx2", "")) == {}
    assert avx2_math_env(amd.replace("AuthenticAMD", "GenuineIntel")) == {}
