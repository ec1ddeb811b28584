"""How much each figure of each device moves on its own, from the history: per device identity, model, precision and
input shape, the robust relative spread (1.4826 x median absolute deviation / median, in %) of every finished run's
record before the one judged. The gate limits a regression of a figure to `cv_factor` x that spread (never below
`regression_percent`), so a noisy phone's init time and a steady phone's median each get their own threshold; with
fewer than MIN_RUNS past values the fixed `regression_percent` applies, and the row says so."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from benchmark.farm.history import History, shape_text
from benchmark.records.types import LatencyRecord

MIN_RUNS = 3
# The figures a phone benchmark reports separately (what users of Paddle-Lite's and TFLite's trackers ask for):
# steady-state median, first inference (includes the warmup), model load (predictor creation), peak memory.
METRICS: dict[str, str] = {
    "median_ms": "latency",  # the steady-state median
    "first_ms": "first inference",
    "init_ms": "model load (init)",
    "peak_memory_mb": "peak memory",
}
Key = tuple[str, str, str, str]


def record_key(rec: LatencyRecord) -> Key:
    return (rec.device_key or rec.device.key, rec.model, rec.precision, shape_text(rec.input_shape))


@dataclass(frozen=True)
class Noise:
    percent: float  # robust relative spread of the past values
    runs: int  # how many past values it was taken from


def spread_percent(values: list[float]) -> float | None:
    if len(values) < MIN_RUNS:
        return None
    mid = statistics.median(values)
    if mid <= 0:
        return None
    mad = statistics.median(abs(v - mid) for v in values)
    return 100 * 1.4826 * mad / mid


def history_noise(history: History, before_run: str) -> dict[Key, dict[str, Noise]]:
    """Each key's noise per metric over the finished runs before `before_run` (one value per run: a reused record
    counts once)."""
    values: dict[Key, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in history.runs():
        if run.run_id == before_run:
            break
        if run.status != "finished":
            continue
        for rec in history.run_records(run.run_id):
            if rec.status != "ok" or rec.reused:
                continue
            for metric in METRICS:
                value = getattr(rec, metric)
                if value is not None:
                    values[record_key(rec)][metric].append(float(value))
    out: dict[Key, dict[str, Noise]] = {}
    for key, by_metric in values.items():
        for metric, vals in by_metric.items():
            spread = spread_percent(vals)
            if spread is not None:
                out.setdefault(key, {})[metric] = Noise(round(spread, 3), len(vals))
    return out
