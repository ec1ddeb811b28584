"""Report section: the variant to ship per model and device class (benchmark.report.recommend), the table it was
chosen from, and the cost-vs-accuracy (Pareto) plot."""

from __future__ import annotations

from benchmark.records.runs import Int8StudyRun, VideoRun
from benchmark.report import plots
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num
from benchmark.report.recommend import UNITS, Candidate, Recommendation, candidates, flicker_gate, recommend

INTRO = (
    "Per model and ARM device class, the variant to ship: among the variants whose accuracy gate passed on that "
    "class's kernels (device parity against desktop fp32, and the labelled images' mIoU, calibration images held "
    "out; and, when a video-check ran, a mask that does not flicker clearly more than fp32's), the one with the "
    "fewest ARM instructions per inference on an emulated phone (QEMU: a deterministic cost figure, not a latency) "
    "or the lowest median latency on a real phone. A variant without device parity is not eligible. `make bench-*` "
    "records the choice in each model's manifest (`recommended`); the Android demo packages it."
)


def recommendations(c: Collected) -> list[Recommendation]:
    latency = sorted(c.latest_latency(), key=lambda r: r.started_at or "")
    videos = c.chronological(VideoRun)
    video = videos[-1].records if videos else []  # flicker: the latest video-check
    return recommend(flicker_gate(candidates(latency, c.device_parity_summaries()), video))


def _row(rec: Recommendation, x: Candidate) -> list[str]:
    ratio, est_ratio = rec.vs_fp32(x)
    return [
        x.variant,
        cell_num(x.shown, ".2f"),
        cell_num(ratio, ".2f"),
        cell_num(x.est_latency_ms, ".2f") + (f" ({est_ratio:.2f}x)" if est_ratio is not None else ""),
        cell_num(x.size_bytes / 1e6 if x.size_bytes else None, ".2f"),
        cell_num(100 * x.miou if x.miou is not None else None, ".2f"),
        cell_num(100 * x.fp32_desktop_miou if x.fp32_desktop_miou is not None else None, ".2f"),
        cell_num(100 * x.mean_argmax_agreement if x.mean_argmax_agreement is not None else None, ".2f"),
        x.status,
        "**recommended**" if x is rec.chosen else "",
    ]


def recommendation_section(c: Collected) -> list[Block]:
    recs = recommendations(c)
    if not recs:
        return []
    blocks: list[Block] = [Heading(2, "Recommended variants", "recommended"), Paragraph(INTRO)]
    summary = [[r.model, r.device_class, r.chosen.variant if r.chosen else "none", r.why] for r in recs]
    blocks.append(Table(["model", "device class", "ship", "why"], summary))
    for rec in recs:
        head = [
            "variant",
            UNITS[rec.metric],
            "vs Paddle-Lite fp32",
            "estimated phone ms (not measured)",
            "MB",
            "mIoU device",
            "mIoU desktop fp32",
            "argmax vs fp32 %",
            "accuracy gate",
            "",
        ]
        blocks += [
            Heading(3, f"{rec.model} on {rec.device_class}"),
            Table(head, [_row(rec, x) for x in rec.candidates], {1, 2, 3, 4, 5, 6, 7}),
        ]
    groups = []
    for rec in recs:
        xlabel = "million ARM instructions per inference" if rec.metric == "instructions" else "median latency, ms"
        points = [
            plots.ParetoPoint(x=x.shown, miou=x.miou, gate=bool(x.gate), chosen=x is rec.chosen, label=x.variant)
            for x in rec.candidates
        ]
        groups.append((f"{rec.model}\n{rec.device_class}", xlabel, points))
    if any(p.miou is not None for _, _, pts in groups for p in pts):
        blocks.append(Image("pareto.png", "Cost vs accuracy per variant (Pareto)", plots.pareto(groups)))
    return blocks


def int8_study_section(c: Collected) -> list[Block]:
    """The latest int8 study per model: what each quantization option kept of the accuracy."""
    latest = {run.model: run for run in c.chronological(Int8StudyRun)}
    if not latest:
        return []
    blocks: list[Block] = [
        Heading(2, "Int8 studies", "int8-study"),
        Paragraph(
            "Full-int8 options judged on desktop Paddle Inference (the fake-quant program) against desktop fp32 on "
            "the labelled images no option calibrated on, with the zoo's int8 gate (`make int8-study`)."
        ),
    ]
    for model, run in sorted(latest.items()):
        rows = [
            [
                r.option,
                str(len(r.skip)),
                str(r.samples or ""),
                cell_num(100 * r.miou if r.miou is not None else None, ".2f"),
                cell_num(-r.miou_drop_points if r.miou_drop_points is not None else None, "+.2f"),
                cell_num(100 * r.mean_argmax_agreement if r.mean_argmax_agreement else None, ".2f"),
                "PASS" if r.passed else ("failed: " + str(r.error) if r.error else "fail"),
            ]
            for r in run.records
        ]
        fp32 = run.fp32_desktop_miou
        blocks += [
            Heading(
                3,
                f"{model}: {len(run.held_out_images)} held-out images, fp32 mIoU "
                f"{cell_num(100 * fp32 if fp32 is not None else None, '.2f')}; chosen: {run.chosen or 'none'}",
            ),  # fmt: skip
            Table(
                ["option", "convs in fp32", "samples", "mIoU", "points vs fp32", "argmax %", "gate"],
                rows,
                {1, 2, 3, 4, 5},
            ),  # fmt: skip
        ]
    return blocks
