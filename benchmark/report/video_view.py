"""Report section for `video-check`: per model x variant, mask flicker and temporal IoU with and without the shared
temporal smoothing (means over the sequences of the latest video run), the smoothing's own cost per frame on this
host and in ARM instructions, how each variant's flicker compares with the desktop reference's, and a strip of the
frame where each variant's mask changed most."""

from __future__ import annotations

from statistics import mean, median

from benchmark.records.rows import VideoRecord, by_variant
from benchmark.records.runs import VideoRun
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num
from benchmark.report.overlays import overlay_strip


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return mean(known) if known else None


def video_section(c: Collected) -> list[Block]:
    runs = c.chronological(VideoRun)
    if not runs:
        return []
    latest = runs[-1]
    groups = by_variant(latest.records)
    reference = {m: _mean([r.flicker for r in rs]) for (m, v), rs in groups.items() if v == "reference"}
    rows = []
    for (model, variant), rs in sorted(groups.items()):
        flicker = _mean([r.flicker for r in rs])
        ref = reference.get(model)
        vs = f"{flicker - ref:+.4f}" if flicker is not None and ref is not None and variant != "reference" else "-"
        times = [r.smoothing_ms_per_frame for r in rs if r.smoothing_ms_per_frame is not None]
        insns = [r.smoothing_arm_insns_per_frame for r in rs if r.smoothing_arm_insns_per_frame is not None]
        rows.append(
            [
                model,
                variant,
                str(len(rs)),
                cell_num(flicker, ".4f"),
                cell_num(_mean([r.flicker_smoothed for r in rs]), ".4f"),
                vs,
                cell_num(_mean([r.temporal_iou for r in rs]), ".4f"),
                cell_num(_mean([r.temporal_iou_smoothed for r in rs]), ".4f"),
                cell_num(_mean([r.miou for r in rs]), ".4f"),
                cell_num(median(times) if times else None, ".3f"),
                cell_num(insns[0] / 1e6 if insns else None, ".2f"),
            ]
        )
    head = ["model", "variant", "sequences", "flicker", "smoothed", "vs reference", "temporal IoU", "smoothed"]
    return [
        Heading(2, "Video: mask stability", "video"),
        Paragraph(
            f"Latest video-check ({len(latest.records)} record(s); smoothing: {latest.smoothing}). Flicker is the "
            "fraction of the boundary band whose label changes against the motion-compensated previous mask (lower "
            "is steadier); temporal IoU compares each mask with that compensated mask. Sequences made from labelled "
            "photos move under a known camera motion; a clip's motion is unknown. The reference is desktop Paddle "
            "Inference fp32; the variants ran on the ARM emulated phone's real kernels. Smoothing cost per frame: "
            "the Python step on this host, and the same step built for aarch64 (a C port checked against the Python "
            "step) in guest instructions on the ARM emulated phone, at the model's input size: a proxy for ARM "
            "work, not a phone time."
        ),
        Table([*head, "mIoU", "smoothing ms/frame", "smoothing M insns/frame (ARM)"], rows, set(range(2, 11))),
        *_methods(latest.records),
        *_strips(groups),
    ]


METHOD_NAMES = {"gated_ema": "gated EMA", "motion_fusion": "motion fusion", "dis_fusion": "DIS fusion (host)"}


def _methods(records: list[VideoRecord]) -> list[Block]:
    """Per model x variant x kind of sequence: flicker raw and with each method (its ratio to raw), mIoU, and the
    worst lag after a sudden change."""
    groups: dict[tuple[str, str, str], list[VideoRecord]] = {}
    for r in records:
        if r.methods:
            groups.setdefault((r.model, r.variant, r.kind), []).append(r)
    if not groups:
        return []
    rows = []
    for (model, variant, kind), rs in sorted(groups.items()):
        raw = mean(r.flicker for r in rs)
        floor = _mean([r.flicker_labels for r in rs])
        row = [model, variant, kind, str(len(rs)), cell_num(floor, ".4f"), f"{raw:.4f}"]
        for method in METHOD_NAMES:
            got = [m for r in rs for m in r.methods if m.method == method]
            if not got:
                row.append("-")
                continue
            f = mean(m.flicker for m in got)
            lags = [m.lag_frames for m in got if m.lag_frames is not None]
            miou = _mean([m.miou for m in got])
            text = f"{f:.4f} ({f / raw:.2f}x)" if raw > 0 else f"{f:.4f}"
            text += f", mIoU {miou * 100:.2f}" if miou is not None else ""
            row.append(text + (f", lag {max(lags)}" if lags else ""))
        rows.append(row)
    head = ["model", "variant", "kind", "sequences", "labels (floor)", "raw flicker", *METHOD_NAMES.values()]
    return [
        Paragraph(
            "Every temporal method on the same masks (each record's `methods`): mean flicker and its ratio to raw, "
            "mIoU on the moved labels, and after a sudden change the worst lag over the sequences (frames until "
            "the mIoU is back within 0.5 pt of the raw mask's). DIS fusion runs on this host only. Labels (floor): "
            "the labels' own flicker, measured the same way, what a perfect mask would score."
        ),
        Table(head, rows, {3, 4, 5}),
    ]


def _strips(groups: dict[tuple[str, str], list[VideoRecord]]) -> list[Block]:
    """Per model x variant, the frame whose mask changed most over its sequences."""
    blocks: list[Block] = []
    for (model, variant), rs in sorted(groups.items()):
        saved = [r for r in rs if r.artifacts and r.worst_frame_changed is not None]
        if not saved:
            continue
        worst = max(saved, key=lambda r: r.worst_frame_changed or 0.0)
        png = overlay_strip(worst.artifacts or {}, "previous", "current")
        if png is None:
            continue
        share = cell_num(worst.worst_frame_changed, ".1%")
        title = (
            f"{model} {variant} / {worst.sequence}, frame {worst.worst_frame}: the frame | previous mask moved with "
            f"the camera (green) | this frame's mask (blue) | changed (red), {share} of the boundary band"
        )
        blocks.append(Image(f"video_{model}_{variant}.png", title, png))
    return blocks
