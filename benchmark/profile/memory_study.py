"""Does memory explain what instructions cannot? For one device class, its published figures joined with ARM emulated
records that carry both the instruction groups (cost profile) and the simulated cache misses of the class's big core
(`profile-arm --caches`: memory_traffic), each form of the cost model fitted and left-one-out: instructions only, then
with the misses of one level and of several. A miss term is a penalty per miss (ns) the fit has to find; it is worth
keeping only where leave-one-out improves and the penalty is one a memory system could have."""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchmark.profile.calibrate import PhoneFigure
from benchmark.profile.cost_model import GROUPS, groups_of
from benchmark.profile.fit import FitError, solve_terms
from benchmark.records.types import LatencyRecord

PRECISION_TERMS = ("instructions fp32", "instructions fp16", "instructions int8", "memory")  # 4 rates, not 7
FORMS: dict[str, tuple[str, ...]] = {
    "groups (the shipped form)": GROUPS,
    "groups + L2 misses": (*GROUPS, "L2 misses"),
    "groups + last-level misses": (*GROUPS, "LLC misses"),
    "per precision": PRECISION_TERMS,
    "per precision + L2 misses": (*PRECISION_TERMS, "L2 misses"),
    "per precision + L1D + L2 misses": (*PRECISION_TERMS, "L1D misses", "L2 misses"),
    "per precision + last-level misses": (*PRECISION_TERMS, "LLC misses"),
    "per precision + per op": (*PRECISION_TERMS, "ops"),
    "per precision + L2 misses + per op": (*PRECISION_TERMS, "L2 misses", "ops"),
    "per precision + last-level misses + per op": (*PRECISION_TERMS, "LLC misses", "ops"),
    # with the simulated prefetcher (geometry pf=): what the misses it leaves cost, and what the bytes it streams cost
    "groups + DRAM lines": (*GROUPS, "DRAM lines"),
    "groups + L2 misses + DRAM lines": (*GROUPS, "L2 misses", "DRAM lines"),
    "per precision + DRAM lines": (*PRECISION_TERMS, "DRAM lines"),
    "per precision + L2 misses + DRAM lines": (*PRECISION_TERMS, "L2 misses", "DRAM lines"),
    "per precision + LLC misses + DRAM lines": (*PRECISION_TERMS, "LLC misses", "DRAM lines"),
}


@dataclass(frozen=True)
class StudyPoint:
    model: str
    precision: str
    phone_ms: float
    row: dict[str, float]  # instructions per group, misses per level (per inference)


@dataclass(frozen=True)
class FormResult:
    form: str
    fit_rms_pct: float
    loo_rms_pct: float
    loo_max_pct: float
    worst: str
    penalty_ns: dict[str, float]  # per miss term: the fitted time per miss
    loo_errors_pct: dict[str, float]  # per point (model precision): left-out error


def points(figures: list[PhoneFigure], records: list[LatencyRecord]) -> tuple[list[StudyPoint], list[str]]:
    """Each figure with the newest record of the same model and variant that has a cost profile and simulated misses;
    the figures without one, named."""
    have: dict[tuple[str, str], LatencyRecord] = {}
    for r in sorted(records, key=lambda r: r.finished_at or ""):
        if r.cost_profile is not None and r.memory_traffic is not None:
            have[(r.model, r.precision)] = r
    out, missing = [], []
    for f in figures:
        found = have.get((f.model, f.precision))
        if found is None or found.cost_profile is None or found.memory_traffic is None:
            missing.append(f"{f.model} {f.precision}")
            continue
        m = found.memory_traffic
        row: dict[str, float] = {**groups_of(found.cost_profile.families)}
        for p in ("fp32", "fp16", "int8"):
            row[f"instructions {p}"] = row[f"dense {p}"] + row[f"depthwise {p}"]
        row.update({"L1D misses": m.l1_misses, "L2 misses": m.l2_misses, "L3 misses": m.l3_misses})
        row["LLC misses"] = m.llc_misses
        if m.dram_lines is not None:
            row["DRAM lines"] = m.dram_lines
        row["ops"] = found.cost_profile.kernels_run
        out.append(StudyPoint(f.model, f.precision, f.ms, row))
    return out, missing


def _predict(a: dict[str, float], row: dict[str, float]) -> float:
    return sum(a[t] * row.get(t, 0.0) for t in a)


def _rms(errors: list[float]) -> float:
    return round(100 * math.sqrt(sum(e * e for e in errors) / len(errors)), 2)


def study(pts: list[StudyPoint]) -> list[FormResult]:
    """Every form fitted to all points and left-one-out; a form no subset of positive rates fits is left out."""
    results = []
    for form, terms in FORMS.items():
        if "DRAM lines" in terms and any("DRAM lines" not in p.row for p in pts):
            continue  # misses counted without the simulated prefetcher
        try:
            a = solve_terms([p.row for p in pts], [p.phone_ms for p in pts], terms)
            loo = {}
            for i, p in enumerate(pts):
                rest = pts[:i] + pts[i + 1 :]
                b = solve_terms([q.row for q in rest], [q.phone_ms for q in rest], terms)
                loo[f"{p.model} {p.precision}"] = _predict(b, p.row) / p.phone_ms - 1
        except FitError:
            continue
        fit_err = [_predict(a, p.row) / p.phone_ms - 1 for p in pts]
        worst = max(loo, key=lambda k: abs(loo[k]))
        results.append(
            FormResult(
                form=form,
                fit_rms_pct=_rms(fit_err),
                loo_rms_pct=_rms(list(loo.values())),
                loo_max_pct=round(100 * abs(loo[worst]), 2),
                worst=worst,
                penalty_ns={t: round(a[t] * 1e6, 2) for t in terms if "misses" in t or t in ("ops", "DRAM lines")},
                loo_errors_pct={k: round(100 * v, 1) for k, v in loo.items()},
            )
        )
    return results
