"""Fitting the cost model's rates to phone figures: est = sum_g a_g * insns_g + c * ops, with a_g = 1 / (ipc_g *
clock) >= 0 and c the fixed time per op >= 0 (the per-op term only when every point records its ops),
least squares on the relative error (each point weighted by 1 / its figure), non-negativity by trying the groups'
subsets and keeping the best feasible one. A group that no figure exercises (a user who measured fp32 only) keeps
its rate from the prior model (the shipped fit), else takes the slowest fitted rate. Leave-one-out: refit without
each point and estimate it."""

from __future__ import annotations

import itertools
import math

import numpy as np

from benchmark.profile.cost_model import GROUPS, CostModel, FitPoint
from converter.base.errors import ToolkitError

MIN_POINTS = 2
MAX_LOO_RMS_PCT = 25.0  # a fit that misses its own left-out figures by more is kept for reading, not for estimates


class FitError(ToolkitError):
    """Too few phone figures with an instruction profile to fit a cost model."""


OPS = "per op"  # the fixed cost per op launched: a column of the fit beside the groups


def _solve(points: list[FitPoint], per_op: bool) -> dict[str, float]:
    """a_g (ms per instruction) for each group and, with per_op, c (ms per op) under OPS; all >= 0."""
    terms = (*GROUPS, OPS) if per_op else GROUPS
    rows: list[dict[str, float]] = [{**p.groups, OPS: p.ops} for p in points]
    return solve_terms(rows, [p.phone_ms for p in points], terms)


def solve_terms(rows: list[dict[str, float]], figures_ms: list[float], terms: tuple[str, ...]) -> dict[str, float]:
    """Non-negative least squares on the relative error, by trying the terms' subsets: ms = sum_t a_t * row[t];
    returns a_t (ms per unit of the term) for every term, 0 where the best feasible subset leaves it out."""
    x = np.array([[row.get(t, 0) / ms for t in terms] for row, ms in zip(rows, figures_ms, strict=True)], dtype=float)
    y = np.ones(len(rows))
    best: tuple[float, dict[str, float]] | None = None
    used = [i for i in range(len(terms)) if np.any(x[:, i] > 0)]  # a term no point has stays at 0
    for k in range(len(used), 0, -1):
        for subset in itertools.combinations(used, k):
            if len(subset) > len(rows):
                continue
            coef, *_ = np.linalg.lstsq(x[:, subset], y, rcond=None)
            if np.any(coef <= 0):
                continue
            full = np.zeros(len(terms))
            full[list(subset)] = coef
            err = float(np.sum((x @ full - y) ** 2))
            if best is None or err < best[0] - 1e-12:
                best = (err, {g: float(full[i]) for i, g in enumerate(terms)})
    if best is None:
        raise FitError("no positive rates fit these figures")
    return best[1]


def _ipc(a: dict[str, float], clock_mhz: float, prior: dict[str, float], used: set[str]) -> dict[str, float]:
    """a_g -> instructions per cycle; a group no point uses keeps the prior's rate; one the fit left at 0 takes the
    slowest fitted rate (never infinite)."""
    fitted = {g: 1.0 / (v * clock_mhz * 1000.0) for g, v in a.items() if v > 0}
    slowest = min(fitted.values()) if fitted else 1.0
    return {
        g: round(fitted[g] if g in fitted else prior.get(g, slowest) if g not in used else slowest, 4) for g in GROUPS
    }


def _rms(rel: list[float]) -> float:
    return round(100 * math.sqrt(sum(r * r for r in rel) / len(rel)), 2)


def fit(
    template: CostModel, points: list[FitPoint], prior: dict[str, float] | None = None, per_op: bool | None = None
) -> CostModel:
    """per_op: fit the fixed cost per op or not; None (default): both when every point records its kernels, and the
    form with the smaller leave-one-out RMS is kept (a term the figures cannot pin only adds noise)."""
    if len(points) < MIN_POINTS:
        raise FitError(
            f"{len(points)} phone figure(s) with an instruction profile for {template.device_class}; at least "
            f"{MIN_POINTS} are needed (profile the same models and variants on an ARM emulated phone first)"
        )
    forms = [per_op] if per_op is not None else ([False, True] if all(p.ops > 0 for p in points) else [False])
    fits = [_fit_form(template, points, prior or {}, f) for f in forms]
    return min(fits, key=lambda m: (m.loo_rms_pct or 0.0, m.op_us > 0))


def _fit_form(template: CostModel, points: list[FitPoint], prior: dict[str, float], with_ops: bool) -> CostModel:
    def fitted_model(pts: list[FitPoint]) -> CostModel:
        used = {g for p in pts for g, n in p.groups.items() if n}
        a = _solve(pts, with_ops)
        op_us = round(a.pop(OPS, 0.0) * 1000.0, 3)
        return template.model_copy(
            update={"ipc": _ipc(a, template.clock_mhz, prior, used), "op_us": op_us, "calibrated": True}
        )

    model = fitted_model(points)
    fitted = []
    for i, p in enumerate(points):
        loo = fitted_model(points[:i] + points[i + 1 :])
        fitted.append(
            p.model_copy(
                update={
                    "est_ms": round(model.estimate_ms(p.groups, p.ops) or 0.0, 3),
                    "loo_est_ms": round(loo.estimate_ms(p.groups, p.ops) or 0.0, 3),
                }
            )
        )
    rel = [(p.est_ms or 0) / p.phone_ms - 1 for p in fitted]
    loo_rel = [(p.loo_est_ms or 0) / p.phone_ms - 1 for p in fitted]
    loo_rms = _rms(loo_rel)
    usable = loo_rms <= MAX_LOO_RMS_PCT
    return model.model_copy(
        update={
            "points": fitted,
            "fit_rms_pct": _rms(rel),
            "loo_rms_pct": loo_rms,
            "loo_max_pct": round(100 * max(abs(r) for r in loo_rel), 2),
            "calibrated": usable,
            "note": None
            if usable
            else (
                f"uncalibrated: the leave-one-out RMS error {loo_rms} % is above {MAX_LOO_RMS_PCT} %, so this fit "
                "is shown but makes no estimate"
            ),
        }
    )
