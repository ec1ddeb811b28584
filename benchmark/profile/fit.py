"""Fitting the cost model's rates to phone figures: est = sum_g a_g * insns_g + c * ops + sum_m p_m * memory_m, with
a_g = 1 / (ipc_g * clock) >= 0, c the fixed time per op >= 0 (the per-op term only when every point records its ops)
and p_m the time per last-level demand miss and per DRAM line (only when every point has simulated misses, and kept
only at a penalty a memory system could have: PHYSICAL_NS),
least squares on the relative error (each point weighted by 1 / its figure), non-negativity by trying the groups'
subsets and keeping the best feasible one. A group that no figure exercises (a user who measured fp32 only) keeps
its rate from the prior model (the shipped fit), else takes the slowest fitted rate. Leave-one-out: refit without
each point and estimate it. Every form (rates per group or per precision, with or without the per-op and memory
terms) is fitted, and the one with the smallest leave-one-out RMS is kept."""

from __future__ import annotations

import itertools
import math

import numpy as np

from benchmark.profile.cost_model import FORMS, GROUPS, MEMORY_TERMS, CostModel, FitPoint, InstructionFit
from converter.base.errors import ToolkitError

MIN_POINTS = 2
MAX_LOO_RMS_PCT = 25.0  # a fit that misses its own left-out figures by more is kept for reading, not for estimates


class FitError(ToolkitError):
    """Too few phone figures with an instruction profile to fit a cost model."""


OPS = "per op"  # the fixed cost per op launched: a column of the fit beside the groups
# ns per unit a memory system can cost: a demand miss of the last level waits for DRAM (tens to hundreds of ns); a
# 64-byte line read by one core at 0.3 to 25 GB/s takes 2.5 to 200 ns (a phone SoC's whole LPDDR4X interface peaks
# near 34 GB/s, one core reads a fraction of it); a fit outside these stands in for something else
PHYSICAL_NS = {"llc_misses": (20.0, 500.0), "dram_lines": (2.5, 200.0)}


class Form:
    """Which terms a fit has: rates per group (7) or per precision (dense and depthwise tied: 4), the per-op cost,
    the memory terms."""

    def __init__(self, form: str, per_op: bool, memory: bool) -> None:
        self.form, self.per_op, self.memory = form, per_op, memory

    def _column(self, group: str) -> str:
        tied = self.form == "per precision" and group != "memory"
        return f"instructions {group.rsplit(maxsplit=1)[-1]}" if tied else group

    def terms(self) -> tuple[str, ...]:
        rates = tuple(dict.fromkeys(self._column(g) for g in GROUPS))
        return (*rates, *((OPS,) if self.per_op else ()), *(MEMORY_TERMS if self.memory else ()))

    def row(self, p: FitPoint) -> dict[str, float]:
        out: dict[str, float] = {OPS: p.ops, **p.memory}
        for g, n in p.groups.items():
            out[self._column(g)] = out.get(self._column(g), 0) + n
        return out

    def rates(self, a: dict[str, float]) -> dict[str, float]:
        """a per term -> a per group (a tied pair shares its precision's rate)"""
        return {g: a[self._column(g)] for g in GROUPS}


def _solve(points: list[FitPoint], form: Form) -> dict[str, float]:
    """a (ms per unit) per group (a tied pair gets its precision's), under OPS per op, and per memory term; >= 0."""
    a = solve_terms([form.row(p) for p in points], [p.phone_ms for p in points], form.terms())
    return {**form.rates(a), **{t: a[t] for t in (OPS, *MEMORY_TERMS) if t in a}}


def physical(a: dict[str, float]) -> bool:
    """Every memory term left in the fit at a penalty a memory system could have (0: the fit dropped it)."""
    return all(a.get(t, 0) == 0 or lo <= a[t] * 1e6 <= hi for t, (lo, hi) in PHYSICAL_NS.items())


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
    template: CostModel,
    points: list[FitPoint],
    prior: dict[str, float] | None = None,
    per_op: bool | None = None,
    memory_geometry: str | None = None,
) -> CostModel:
    """per_op: fit the fixed cost per op or not; None (default): both when every point records its kernels. The
    memory terms are tried when every point has simulated misses (counted with memory_geometry). Of every form, the
    one with the smallest leave-one-out RMS is kept (a term the figures cannot pin only adds noise); a form with a
    memory penalty no memory system has is not kept. A fit that counts memory stores its best instruction-only form
    beside it, for records without simulated misses."""
    if len(points) < MIN_POINTS:
        raise FitError(
            f"{len(points)} phone figure(s) with an instruction profile for {template.device_class}; at least "
            f"{MIN_POINTS} are needed (profile the same models and variants on an ARM emulated phone first)"
        )
    ops_choices = [per_op] if per_op is not None else ([False, True] if all(p.ops > 0 for p in points) else [False])
    with_memory = [False, True] if memory_geometry and all(p.memory for p in points) else [False]
    fits = []
    for form in FORMS:
        for ops in ops_choices:
            for mem in with_memory:
                try:
                    fits.append(_fit_form(template, points, prior or {}, Form(form, ops, mem), memory_geometry))
                except FitError:
                    continue  # no positive rates, or an unphysical memory penalty
    if not fits:
        raise FitError(f"{template.device_class}: no form of the cost model fits these figures with positive rates")

    def rank(m: CostModel) -> tuple[float, int]:
        return (m.loo_rms_pct or 0.0, (m.op_us > 0) + len(m.memory_ns) + (m.form != "groups"))

    best = min(fits, key=rank)
    if best.needs_memory:
        plain = min((m for m in fits if not m.needs_memory), key=rank, default=None)
        if plain is None:  # no instruction-only form fits: records without misses get no estimate
            return best
        kept = plain.model_dump(include=set(InstructionFit.model_fields))
        best = best.model_copy(update={"without_memory": InstructionFit.model_validate(kept)})
    return best


def _fit_form(
    template: CostModel, points: list[FitPoint], prior: dict[str, float], form: Form, geometry: str | None
) -> CostModel:
    def fitted_model(pts: list[FitPoint]) -> CostModel:
        used = {g for p in pts for g, n in p.groups.items() if n}
        a = _solve(pts, form)
        if not physical(a):
            raise FitError(f"a memory penalty no memory system has: {a}")
        op_us = round(a.pop(OPS, 0.0) * 1000.0, 3)
        memory_ns = {t: round(a.pop(t) * 1e6, 2) for t in MEMORY_TERMS if t in a}
        memory_ns = {t: v for t, v in memory_ns.items() if v > 0}
        return template.model_copy(
            update={
                "ipc": _ipc(a, template.clock_mhz, prior, used),
                "op_us": op_us,
                "form": form.form,
                "memory_ns": memory_ns,
                "memory_geometry": geometry if memory_ns else None,
                "calibrated": True,
            }
        )

    model = fitted_model(points)
    fitted = []
    for i, p in enumerate(points):
        loo = fitted_model(points[:i] + points[i + 1 :])
        fitted.append(
            p.model_copy(
                update={
                    "est_ms": round(model.estimate_ms(p.groups, p.ops, p.memory) or 0.0, 3),
                    "loo_est_ms": round(loo.estimate_ms(p.groups, p.ops, p.memory) or 0.0, 3),
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
