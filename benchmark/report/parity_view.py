"""Report sections for parity (x86 kernels on the host and ARM kernels on devices, side by side, then per
device) and accuracy on labelled images."""

from __future__ import annotations

from collections import defaultdict

from benchmark.records.parts import GroundTruthFigures, variant_name, verdict_of
from benchmark.records.runs import AccuracyRun, ParityRun
from benchmark.records.types import ParityRecord
from benchmark.report.collect import Collected
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num
from benchmark.report.overlays import overlay_strip
from converter.base.errors import ToolkitError
from converter.schema.zoo import load_zoo

PRINT_NOTE = (
    "device outputs are read back from benchmark_bin's text dump, which has 6 significant digits: the "
    "tolerance is widened by 5e-6 x max|output| (print_rounding_bound), and int32/int64 argmax outputs are "
    "decoded from their float bit patterns"
)


def model_verdicts(c: Collected) -> dict[tuple[str, str, str, str], str]:
    """The run's own per-model verdicts (they include the task-level gates), newest run winning."""
    out: dict[tuple[str, str, str, str], str] = {}
    for run in c.chronological(ParityRun):
        device_run = run.source == "device"
        for m in run.models:
            if not m.model:
                continue
            where = (m.device or "host") if device_run else "host"
            key = (m.model, variant_name(m.runtime, m.precision), "device" if device_run else "host", where)
            if device_run:
                out[key] = {"pass": "PASS", "fail": "FAIL", "not_run": "not run"}[verdict_of(m) or "fail"]
            else:
                status = m.status or ""
                out[key] = {"pass": "PASS", "fail": "FAIL"}.get(status, status.upper())
    return out


def _runtime(r: ParityRecord) -> str:
    if r.source != "device":
        return "Paddle-Lite x86 (host)"
    qemu = r.device.qemu_cpu if r.device else None
    runner = "ncnn_run" if r.runtime == "ncnn" else "benchmark_bin"
    if qemu:
        return f"device {runner} [ARM kernels, QEMU {qemu}]"
    return f"device {runner}" + (" [host-emulated]" if r.emulated else "")


def _kernel_cell(recs: list[ParityRecord], verdict: str | None) -> str:
    worst = max((r.max_abs_diff for r in recs if r.max_abs_diff is not None), default=None)
    result = verdict or ("PASS" if all(r.passed for r in recs) else "FAIL")
    return f"{result}, max diff {cell_num(worst, '.1e')} ({len(recs)} images)"


def kernels_table(records: list[ParityRecord], verdicts: dict[tuple[str, str, str, str], str]) -> Table:
    """Per model and precision: the x86 kernels (host Paddle-Lite) beside the ARM kernels (each device that ran
    the ARM .nb), both against desktop Paddle Inference fp32."""
    x86: dict[tuple[str, str], list[ParityRecord]] = defaultdict(list)
    arm: dict[tuple[str, str], dict[str, list[ParityRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        key = (r.model, variant_name(r.runtime, r.precision))
        if r.source == "device" and r.target == "arm":
            arm[key][r.device.serial if r.device else "?"].append(r)
        elif r.source != "device":
            x86[key].append(r)
    rows = []
    for model, precision in sorted(set(x86) | set(arm)):
        host = x86.get((model, precision))
        host_cell = _kernel_cell(host, verdicts.get((model, precision, "host", "host"))) if host else "-"
        if not host and verdicts.get((model, precision, "host", "host")) == "NOT_RUN":
            host_cell = "no x86 kernels"
        arm_cells = [
            f"{serial}: {_kernel_cell(recs, verdicts.get((model, precision, 'device', serial)))}"
            for serial, recs in sorted(arm.get((model, precision), {}).items())
        ]
        rows.append([model, precision, host_cell, "; ".join(arm_cells) or "not run on an ARM device"])
    return Table(["model", "precision", "x86 kernels (host Paddle-Lite)", "ARM kernels (device benchmark_bin)"], rows)


PER_RUNTIME_HEAD = [
    "model",
    "candidate vs Paddle Inference",
    "device",
    "precision",
    "images",
    "max abs diff",
    "worst image",
    "min argmax agreement",
    "min mask IoU",
    "result",
]


def _per_runtime_table(records: list[ParityRecord], verdicts: dict[tuple[str, str, str, str], str]) -> Table:
    ran_on_arm = {(r.model, r.precision) for r in records if r.target == "arm"}
    groups: dict[tuple[str, str, str, str], list[ParityRecord]] = defaultdict(list)
    for r in records:
        where = (r.device.serial if r.device else "host") if r.source == "device" else "host"
        groups[(r.model, r.precision, r.source, where)].append(r)
    rows = []
    for (model, precision, source, where), recs in sorted(groups.items()):
        per_image = "PASS" if all(r.passed for r in recs) else "FAIL"
        verdict = verdicts.get((model, precision, source, where), per_image)
        worst = max(recs, key=lambda r: r.max_abs_diff if r.max_abs_diff is not None else float("inf"))
        runtime = _runtime(recs[0])
        rows.append(
            [
                model,
                runtime,
                where,
                precision,
                str(len(recs)),
                cell_num(worst.max_abs_diff, ".2e"),
                worst.image,
                cell_num(min(r.argmax_agreement for r in recs), ".4%"),
                cell_num(min(r.iou_vs_reference for r in recs), ".4f"),
                verdict,
            ]
        )
    for (model, precision, source, where), verdict in sorted(verdicts.items()):
        if (model, precision) in ran_on_arm and source == "host":
            continue  # an ARM device ran it: the table above has its figures
        if verdict in ("NOT_RUN", "n/a") and (model, precision, source, where) not in groups:
            rows.append(
                [
                    model,
                    "not run here" if source == "host" else "device benchmark_bin",
                    where,
                    precision,
                    "0",
                    "-",
                    "-",
                    "-",
                    "-",
                    "not run here",
                ]
            )
    return Table(PER_RUNTIME_HEAD, rows, {4, 5, 7, 8})


def parity_section(c: Collected) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Parity", "parity")]
    records = c.latest_parity()
    if not records:
        return [*blocks, Paragraph("No parity run file found (`make parity`, or bench with --images/--dataset).")]
    blocks.append(Paragraph(PRINT_NOTE, note=True))
    verdicts = model_verdicts(c)
    blocks += [Paragraph("x86 and ARM kernels against desktop Paddle Inference fp32"), kernels_table(records, verdicts)]
    blocks.append(_per_runtime_table(records, verdicts))
    return blocks + _overlays(records)


def _overlays(records: list[ParityRecord]) -> list[Block]:
    """Input | desktop mask | device mask | difference for the first 3 images of each model that saved them."""
    blocks: list[Block] = []
    shown: dict[str, int] = defaultdict(int)
    for r in sorted(records, key=lambda r: (r.model, r.image)):
        if r.artifacts and shown[r.model] < 3:
            png = overlay_strip(r.artifacts)
            if png:
                shown[r.model] += 1
                title = (
                    f"{r.model} / {r.image}: input | desktop mask (green) | device mask (blue) | "
                    f"difference (red), max abs diff {cell_num(r.max_abs_diff, '.1e')}"
                )
                blocks.append(Image(f"overlay_{r.model}_{shown[r.model]}.png", title, png))
    return blocks


def accuracy_section(c: Collected) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Accuracy", "accuracy")]
    found: dict[tuple[str, str, str], list[str]] = {}  # (model, runtime, precision) -> row; newest run wins
    seeds: dict[str, float | None] = {}

    def add(model: str, runtime: str, precision: str, gt: GroundTruthFigures | None) -> None:
        if gt is not None and gt.images:
            found[(model, runtime, precision)] = [
                model,
                runtime,
                precision,
                cell_num(_pct(gt.miou), ".2f"),
                cell_num(_pct(gt.mean_fg_iou), ".2f"),
                str(gt.images),
            ]

    runs: list[AccuracyRun | ParityRun] = [*c.chronological(AccuracyRun), *c.chronological(ParityRun)]
    for run in sorted(runs, key=lambda r: r.written_at):
        device_run = isinstance(run, AccuracyRun)
        if isinstance(run, ParityRun) and run.source == "device":
            continue  # its ground truth is reported by the accuracy run of the same pass
        for m in run.models:
            if not m.model:
                continue
            gt = m.ground_truth
            seeds.setdefault(m.model, m.seed_miou_percent)
            add(m.model, "Paddle Inference (desktop)", "fp32", gt.reference)
            tag = f" [QEMU {m.qemu_cpu}]" if m.qemu_cpu else (" [host-emulated]" if m.emulated else "")
            cand = f"device {m.device}{tag}"
            add(m.model, cand if device_run else "Paddle-Lite x86 (host)", m.precision or "fp32", gt.candidate)
    zoo_seeds = _zoo_seed_mious()
    rows = [[*row, cell_num(seeds.get(row[0]) or zoo_seeds.get(row[0]), ".2f")] for _, row in sorted(found.items())]
    if not rows:
        return [*blocks, Paragraph("No labelled-set run found (bench with --dataset DIR, or parity with masks).")]
    blocks.append(
        Paragraph(
            "mIoU = mean of background and person IoU over the labelled set, in %. The seed's mIoU "
            "was measured on a different, larger set (PP-HumanSeg-14K / mini Supervisely).",
            note=True,
        )
    )
    blocks.append(
        Table(
            ["model", "runtime", "precision", "mIoU", "foreground IoU", "labelled images", "seed mIoU (published)"],
            rows,
            {3, 4, 5, 6},
        )
    )
    return blocks


def _zoo_seed_mious() -> dict[str, float]:
    try:
        return {m.name: m.published.miou_percent for m in load_zoo().models}
    except ToolkitError:
        return {}


def _pct(x: float | None) -> float | None:
    return None if x is None else 100 * x
