"""The harness's own cost: a model's wall time in the harness minus the runner processes' wall time measured on the
device (date +%s%N around each runner). Target: <= 10 % for portrait V2-Lite with 10 rounds x 50 runs."""

from __future__ import annotations

from benchmark.records.rows import OverheadRecord
from benchmark.records.types import LatencyRecord

TARGET_FRACTION = 0.10


def harness_overhead(records: list[LatencyRecord]) -> list[OverheadRecord]:
    rows = []
    for rec in records:
        if rec.status != "ok" or rec.harness_wall_s is None or rec.runner_wall_s is None:
            continue
        total, runner = rec.harness_wall_s, rec.runner_wall_s
        frac = (total - runner) / total if total > 0 else 0.0
        rows.append(
            OverheadRecord(
                model=rec.model,
                timed_runs=(rec.rounds or 0) * (rec.repeats or 0),
                total_wall_s=total,
                runner_wall_s=runner,
                harness_overhead_fraction=frac,
            )
        )
    return rows
