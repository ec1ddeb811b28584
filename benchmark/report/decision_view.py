"""The report's first screen: what to ship. Per model and ARM device class, the recommended variant (runtime x
precision), its cost figure, its estimated phone latency with the cost model's band and what that means in frames
per second, its parity and accuracy verdicts, and what is missing for a complete answer. The details follow in the
sections below (recommended variants, devices, parity)."""

from __future__ import annotations

from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Paragraph, Table, cell_num
from benchmark.report.recommend import UNITS, Candidate, Recommendation
from benchmark.report.recommend_view import recommendations

TARGET_FPS = 30.0  # a video call's frame rate
HEAD = ["model", "device class", "ship", "cost", "est. phone ms (band)", "fps", f"{TARGET_FPS:.0f} fps",
        "accuracy", "missing"]  # fmt: skip
INTRO = (
    "What to ship, per model and ARM device class: the variant recommended below (the fewest ARM instructions, or "
    "the lowest median on a phone, among the variants that passed their accuracy gate on that class), its "
    "estimated phone latency (a cost model fitted to published figures; never a measurement) with the model's "
    "leave-one-out band, and what a complete answer still lacks. Details: the sections 'Recommended variants', "
    "'Devices and latency' and 'Parity' below."
)


def holds_fps(est_ms: float | None, band_pct: float | None) -> str:
    """yes: even the slow end of the band holds the frame rate; likely: the estimate does, its band's slow end
    does not; no: the estimate does not; '-': nothing estimated."""
    if est_ms is None:
        return "-"
    budget_ms = 1000.0 / TARGET_FPS
    if est_ms * (1 + (band_pct or 0.0) / 100) <= budget_ms:
        return "yes"
    return "likely" if est_ms <= budget_ms else "no"


def _accuracy(c: Candidate) -> str:
    if c.miou is None:
        return "device parity PASS; mIoU not measured (no labelled images)"
    desk = cell_num(100 * c.fp32_desktop_miou if c.fp32_desktop_miou is not None else None, ".2f")
    return f"PASS; mIoU {100 * c.miou:.2f} (desktop fp32 {desk})"


def _missing(rec: Recommendation, c: Candidate) -> str:
    gaps = []
    if c.est_latency_ms is None:
        why = "its cost model is fitted to Paddle-Lite's kernels" if c.runtime != "paddle-lite" else "no cost profile"
        gaps.append(f"no phone estimate ({why})" if rec.metric == "instructions" else "")
    if c.miou is None:
        gaps.append("accuracy on labelled images (DATASET=)")
    judged = [x for x in rec.candidates if x.gate is not None]
    if len(judged) < len(rec.candidates):
        gaps.append(f"{len(rec.candidates) - len(judged)} variant(s) not judged")
    return "; ".join(g for g in gaps if g) or "-"


def _row(rec: Recommendation) -> list[str]:
    c = rec.chosen
    if c is None:
        return [rec.model, rec.device_class, "nothing", "-", "-", "-", "-", "no variant passed its gate", rec.why]
    est, band = c.est_latency_ms, c.est_band_pct
    est_text = "-" if est is None else f"{est:.2f}" + (f" ±{band:.0f} %" if band is not None else "")
    ratio = rec.vs_best_paddle_lite
    ship = f"{c.variant} ({ratio:.2f}x the best Paddle-Lite)" if ratio is not None else c.variant
    return [
        rec.model,
        rec.device_class,
        ship,
        f"{c.shown:.2f} {UNITS[rec.metric]}",
        est_text,
        cell_num(1000.0 / est if est else None, ".0f"),
        holds_fps(est, band),
        _accuracy(c),
        _missing(rec, c),
    ]


def decision_section(c: Collected) -> list[Block]:
    recs = recommendations(c)
    blocks: list[Block] = [Heading(2, "What to ship", "ship"), Paragraph(INTRO)]
    if not recs:
        hint = "no ARM device class has measured a model yet: run make bench-emulated PHONE=sd855-arm DATASET=..."
        return [*blocks, Paragraph(hint, note=True)]
    blocks.append(Table(HEAD, [_row(r) for r in recs], {4, 5}))
    measured = {r.model for r in recs}
    unmeasured = sorted(m.model for m in c.manifests if m.model not in measured)
    if unmeasured:
        blocks.append(Paragraph(f"Converted, not yet measured on an ARM device class: {', '.join(unmeasured)}."))
    return blocks
