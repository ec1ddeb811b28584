from __future__ import annotations

import pytest

from benchmark.latency.stats import latency_stats, stability_warnings


def test_statistics_across_rounds() -> None:
    s = latency_stats([10.0, 11.0, 12.0, 13.0, 14.0])
    assert (s.n, s.median_ms, s.mean_ms, s.min_ms, s.max_ms) == (5, 12.0, 12.0, 10.0, 14.0)
    assert s.std_ms == pytest.approx(1.5811, rel=1e-4)  # sample std
    assert s.p90_ms == pytest.approx(13.6)
    assert s.cv == pytest.approx(1.5811 / 12, rel=1e-4)


def test_stable_run_has_no_warning() -> None:
    s = latency_stats([10.0, 10.1, 9.9, 10.0, 10.05, 9.95])
    assert stability_warnings(s) == []


def test_throttling_and_spread_are_flagged() -> None:
    s = latency_stats([10.0, 10.0, 10.1, 11.0, 12.0, 12.5])  # last third 22 % slower than the first
    warnings = stability_warnings(s)
    assert any(w.startswith("throttling") for w in warnings)
    assert any(w.startswith("unstable") for w in warnings)
    assert stability_warnings(s, cv_limit=0.5, throttle_limit=0.5) == []


def test_single_round() -> None:
    s = latency_stats([7.0])
    assert s.std_ms == 0.0 and s.throttle_ratio is None
    with pytest.raises(ValueError):
        latency_stats([])
