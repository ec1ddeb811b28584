"""Report section for `video-check`: per model x variant, mask flicker and temporal IoU with and without the shared
temporal smoothing (means over the sequences of the latest video run), the smoothing's own cost per frame on this
host, and how each variant's flicker compares with the desktop reference's."""

from __future__ import annotations

from statistics import mean, median

from benchmark.records.rows import by_variant
from benchmark.records.runs import VideoRun
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Paragraph, Table, cell_num


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
            "Inference fp32; the variants ran on the ARM emulated phone's real kernels. Smoothing cost: the Python "
            "step on this host, per frame."
        ),
        Table([*head, "mIoU", "smoothing ms/frame"], rows, {2, 3, 4, 5, 6, 7, 8, 9}),
    ]
