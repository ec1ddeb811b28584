"""The harness's own cost: a model's wall time in the harness minus the runner processes' wall time measured on the
device (date +%s%N around each runner). Target: <= 10 % for portrait V2-Lite with 10 rounds x 50 runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

TARGET_FRACTION = 0.10


@dataclass(frozen=True)
class Overhead:
    model: str
    timed_runs: int
    total_wall_s: float
    runner_wall_s: float
    harness_overhead_fraction: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def harness_overhead(records: list[dict[str, Any]]) -> list[Overhead]:
    rows = []
    for rec in records:
        if rec["status"] != "ok":
            continue
        total, runner = float(rec["harness_wall_s"]), float(rec["runner_wall_s"])
        frac = (total - runner) / total if total > 0 else 0.0
        rows.append(Overhead(rec["model"], rec["rounds"] * rec["repeats"], total, runner, frac))
    return rows
