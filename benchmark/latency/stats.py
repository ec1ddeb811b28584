"""Latency statistics across rounds (benchmark_bin itself reports only min/max/avg per invocation)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CV_LIMIT = 0.05
THROTTLE_LIMIT = 0.05


@dataclass(frozen=True)
class LatencyStats:
    n: int
    median_ms: float
    mean_ms: float
    std_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    cv: float
    throttle_ratio: float | None  # mean of the last third / mean of the first third, minus 1

    def to_json(self) -> dict[str, float | int | None]:
        return asdict(self)


def latency_stats(values_ms: list[float]) -> LatencyStats:
    if not values_ms:
        raise ValueError("no latency values")
    a = np.asarray(values_ms, dtype=np.float64)
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    third = a.size // 3
    throttle = float(a[-third:].mean() / a[:third].mean() - 1.0) if third >= 1 else None
    return LatencyStats(
        n=int(a.size),
        median_ms=float(np.median(a)),
        mean_ms=mean,
        std_ms=std,
        p90_ms=float(np.percentile(a, 90)),
        min_ms=float(a.min()),
        max_ms=float(a.max()),
        cv=std / mean if mean > 0 else 0.0,
        throttle_ratio=throttle,
    )


def stability_warnings(
    s: LatencyStats, cv_limit: float = CV_LIMIT, throttle_limit: float = THROTTLE_LIMIT
) -> list[str]:
    warnings = []
    if s.cv > cv_limit:
        warnings.append(f"unstable: CV across rounds {s.cv:.1%} > {cv_limit:.0%}")
    if s.throttle_ratio is not None and s.throttle_ratio > throttle_limit:
        warnings.append(
            f"throttling: the last third of rounds is {s.throttle_ratio:.1%} slower than the first third "
            f"(> {throttle_limit:.0%})"
        )
    return warnings
