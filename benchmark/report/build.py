"""Sections of the report, from the collected run files and manifests."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.report import plots
from benchmark.report.collect import Collected, collect
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num, to_html, to_markdown
from benchmark.report.farm_view import farm_section
from benchmark.report.graph_fix_view import graph_fix_section
from benchmark.report.models_view import FLOP_PER_CYCLE, models_section
from benchmark.report.overlays import overlay_strip
from converter import atomic_files
from converter.errors import ToolkitError
from converter.manifest import toolkit_version
from converter.zoo import load_zoo

TITLE = "Paddle-Lite deployment report"
EMULATED_NOTE = (
    "host-emulated device: these are Paddle-Lite x86 timings of the machine that ran the emulated "
    "device, not phone timings"
)
PRINT_NOTE = (
    "device outputs are read back from benchmark_bin's text dump, which has 6 significant digits: the "
    "tolerance is widened by 5e-6 x max|output| (print_rounding_bound), and int32/int64 argmax outputs are "
    "decoded from their float bit patterns"
)


def _seed(x: Any) -> str:
    return str(x) if isinstance(x, (int, float)) else "-"  # as published: 15.86, 12.3


def _cpus(dev: dict[str, Any]) -> str:
    groups: dict[int, int] = defaultdict(int)
    for c in dev.get("cpus", []):
        if c.get("max_khz"):
            groups[c["max_khz"]] += 1
    return " + ".join(f"{n}x {khz / 1e6:.2f} GHz" for khz, n in sorted(groups.items())) or "-"


def physical_limit(r: dict[str, Any], stats: dict[str, Any] | None) -> str:
    """Latency as a fraction of the big core's limit: conv FLOPs / (max frequency x FLOP per cycle) / latency."""
    if r.get("emulated"):
        return "n/a (host)"
    freqs = [c.get("max_khz") for c in r["device"].get("cpus", []) if c.get("max_khz")]
    if not stats or not stats.get("conv_flops") or not freqs or r.get("status") != "ok":
        return "-"
    ideal_ms = stats["conv_flops"] / (max(freqs) * 1e3 * FLOP_PER_CYCLE) * 1e3
    return f"{ideal_ms / r['median_ms']:.0%}"


def devices_section(c: Collected) -> list[Block]:
    records = c.latest("latency", ("device.serial", "model", "precision"))
    blocks: list[Block] = [Heading(2, "Devices and latency", "devices")]
    if not records:
        return [*blocks, Paragraph("No latency run file found (run `make bench-device` or `make bench-emulated`).")]
    stats = {m.get("model"): m.get("model_stats") for m in c.manifests}
    by_dev: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_dev[r["device"]["serial"]].append(r)
    for serial, recs in sorted(by_dev.items()):
        dev = recs[0]["device"]
        blocks.append(Heading(3, f"{dev.get('brand', '')} {dev.get('model', '')} ({serial})".strip()))
        if any(r.get("emulated") for r in recs):
            blocks.append(Paragraph(EMULATED_NOTE, note=True))
        info = [
            ["serial number", dev.get("serialno", "")],
            ["SoC", dev.get("soc", "")],
            ["ABI", dev.get("abi", "")],
            ["Android (SDK)", f"{dev.get('android', '')} ({dev.get('sdk', '')})"],
            ["CPU clusters", _cpus(dev)],
            ["big / prime cores", f"{dev.get('big_cpus')} / {dev.get('prime_cpus')}"],
            ["battery", f"{dev.get('battery_level')} %, {dev.get('battery_temp_c')} °C"],
        ]
        blocks.append(Table(["device", "value"], info))
        thermal = []
        for r in recs:
            before, after = r.get("temps_before") or {}, r.get("temps_after") or {}
            wait = r.get("thermal_wait") or {}
            thermal.append(
                [
                    r["model"],
                    cell_num(max(before.values(), default=None), ".1f"),
                    cell_num(max(after.values(), default=None), ".1f"),
                    cell_num(wait.get("waited_s"), ".0f"),
                    "yes" if wait.get("timed_out") else "no",
                    "; ".join(r.get("warnings", [])) or "-",
                ]
            )
        blocks.append(Paragraph("Thermal notes (hottest zone, °C; waits before each model)"))
        blocks.append(Table(["model", "before", "after", "waited s", "bound reached", "warnings"], thermal, {1, 2, 3}))
        rows = []
        for r in recs:
            ok = r.get("status") == "ok"
            seed = r.get("seed_ms")
            ratio = r["median_ms"] / seed if ok and seed else None
            rows.append(
                [
                    r["model"],
                    "x".join(map(str, r["input_shape"])),
                    r.get("precision", ""),
                    cell_num(r.get("median_ms"), ".2f"),
                    cell_num(r.get("p90_ms"), ".2f"),
                    cell_num(r.get("cv"), ".1%"),
                    f"{r.get('rounds', '-')} x {r.get('repeats', '-')}",
                    cell_num(r.get("peak_memory_mb"), ".0f"),
                    _seed(seed),
                    cell_num(ratio, ".2f"),
                    r.get("weights", "trained"),
                    physical_limit(r, stats.get(r["model"])),
                    "ok" if ok else r.get("status", "failed"),
                ]
            )
        blocks.append(
            Table(
                [
                    "model",
                    "input (NCHW)",
                    "precision",
                    "median ms",
                    "p90 ms",
                    "CV",
                    "rounds x runs",
                    "peak MB",
                    "seed SD855 ms",
                    "ratio",
                    "weights",
                    "of physical limit",
                    "status",
                ],
                rows,
                {3, 4, 5, 7, 8, 9},
            )
        )
    return blocks


def plots_section(c: Collected) -> list[Block]:
    records = c.latest("latency", ("device.serial", "model", "precision"))
    blocks: list[Block] = [Heading(2, "Plots", "plots")]
    if records:
        blocks += [
            Image("latency_vs_seed.png", "Latency per model vs the seed's figure", plots.latency_vs_seed(records)),
            Image("rounds_distribution.png", "Distribution of rounds per model", plots.rounds_distribution(records)),
            Image("latency_over_rounds.png", "Latency over rounds", plots.latency_over_rounds(records)),
        ]
    if c.manifests:
        blocks.append(
            Image("size_per_precision.png", "Model size per precision", plots.size_per_precision(c.manifests))
        )
    return blocks


def model_verdicts(c: Collected) -> dict[tuple[str, str, str, str], str]:
    """The run's own per-model verdicts (they include the task-level gates), newest run winning."""
    out: dict[tuple[str, str, str, str], str] = {}
    for run in sorted(c.runs["parity"], key=lambda r: r.get("written_at", "")):
        device_run = run.get("source") == "device"
        for m in run.get("models", []):
            if not m.get("model"):
                continue
            key = (
                m["model"],
                m.get("precision", "fp32"),
                "device" if device_run else "host",
                m.get("device", "host") if device_run else "host",
            )
            if device_run:
                out[key] = "n/a" if m.get("not_run") else ("PASS" if m.get("passed") else "FAIL")
            else:
                out[key] = {"pass": "PASS", "fail": "FAIL"}.get(m.get("status", ""), m.get("status", "").upper())
    return out


def host_mious(c: Collected) -> dict[tuple[str, str], float]:
    """(model, precision) -> the host candidate's mIoU on labelled images, newest run winning."""
    out: dict[tuple[str, str], float] = {}
    for run in sorted(c.runs["parity"], key=lambda r: r.get("written_at", "")):
        if run.get("source") == "device":
            continue
        for m in run.get("models", []):
            miou = ((m.get("ground_truth") or {}).get("candidate") or {}).get("miou")
            if miou is not None:
                out[(m["model"], m.get("precision", "fp32"))] = miou
    return out


def parity_section(c: Collected) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Parity", "parity")]
    records = c.latest("parity", ("source", "device.serial", "model", "image", "precision"))
    if not records:
        return [*blocks, Paragraph("No parity run file found (`make parity`, or bench with --images/--dataset).")]
    blocks.append(Paragraph(PRINT_NOTE, note=True))
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        where = (r.get("device") or {}).get("serial", "host") if r.get("source") == "device" else "host"
        groups[(r["model"], r.get("precision", "fp32"), r.get("source", "host"), where)].append(r)
    verdicts = model_verdicts(c)
    rows = []
    for (model, precision, source, where), recs in sorted(groups.items()):
        per_image = "PASS" if all(r["passed"] for r in recs) else "FAIL"
        verdict = verdicts.get((model, precision, source, where), per_image)
        worst = max(recs, key=lambda r: r["max_abs_diff"] if r["max_abs_diff"] is not None else float("inf"))
        runtime = "device benchmark_bin" if source == "device" else "Paddle-Lite x86 (host)"
        if source == "device" and recs[0].get("emulated"):
            runtime += " [host-emulated]"
        rows.append(
            [
                model,
                runtime,
                where,
                precision,
                str(len(recs)),
                cell_num(worst["max_abs_diff"], ".2e"),
                worst["image"],
                cell_num(min(r["argmax_agreement"] for r in recs), ".4%"),
                cell_num(min(r["iou_vs_reference"] for r in recs), ".4f"),
                verdict,
            ]
        )
    for (model, precision, source, where), verdict in sorted(verdicts.items()):
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
    blocks.append(
        Table(
            [
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
            ],
            rows,
            {4, 5, 7, 8},
        )
    )
    shown: dict[str, int] = defaultdict(int)
    for r in sorted(records, key=lambda r: (r["model"], r["image"])):
        if r.get("artifacts") and shown[r["model"]] < 3:
            png = overlay_strip(r["artifacts"])
            if png:
                shown[r["model"]] += 1
                title = (
                    f"{r['model']} / {r['image']}: input | desktop mask (green) | device mask (blue) | "
                    f"difference (red), max abs diff {cell_num(r['max_abs_diff'], '.1e')}"
                )
                blocks.append(Image(f"overlay_{r['model']}_{shown[r['model']]}.png", title, png))
    return blocks


def accuracy_section(c: Collected) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Accuracy", "accuracy")]
    found: dict[tuple[str, str, str], list[str]] = {}  # (model, runtime, precision) -> row; newest run wins
    seeds: dict[str, Any] = {}

    def add(model: str, runtime: str, precision: str, gt: dict[str, Any]) -> None:
        if gt.get("images"):
            found[(model, runtime, precision)] = [
                model,
                runtime,
                precision,
                cell_num(_pct(gt.get("miou")), ".2f"),
                cell_num(_pct(gt.get("mean_fg_iou")), ".2f"),
                str(gt["images"]),
            ]

    for run in sorted(c.runs["accuracy"] + c.runs["parity"], key=lambda r: r.get("written_at", "")):
        device_run = run["kind"] == "accuracy"
        if run["kind"] == "parity" and run.get("source") == "device":
            continue  # its ground truth is reported by the accuracy run of the same pass
        for m in run.get("models", []):
            if not m.get("model"):
                continue
            gt = m.get("ground_truth") or {}
            seeds.setdefault(m["model"], m.get("seed_miou_percent"))
            desktop_key, cand_key = ("desktop", "device") if device_run else ("reference", "candidate")
            add(m["model"], "Paddle Inference (desktop)", "fp32", gt.get(desktop_key) or {})
            cand = f"device {m.get('device')}" + (" [host-emulated]" if m.get("emulated") else "")
            add(
                m["model"],
                cand if device_run else "Paddle-Lite x86 (host)",
                m.get("precision", "fp32"),
                gt.get(cand_key) or {},
            )
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


def _pct(x: Any) -> float | None:
    return 100 * x if isinstance(x, (int, float)) else None


def build_report(reports: Path, models: Path, history: Path | None = None) -> tuple[Path, Path, Collected]:
    c = collect(reports, models)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    blocks: list[Block] = [
        Paragraph(
            f"Generated {now} by pp-lite-toolkit {toolkit_version()} from "
            f"{len(c.files)} run file(s) and {len(c.manifests)} manifest(s)."
        )
    ]
    blocks += devices_section(c) + farm_section(c, history) + plots_section(c) + parity_section(c)
    blocks += accuracy_section(c) + graph_fix_section(c) + models_section(c)
    if c.warnings:
        blocks += [Heading(2, "Skipped files"), Table(["warning"], [[w] for w in c.warnings])]
    html_path, md_path = reports / "index.html", reports / "report.md"
    atomic_files.write_text(html_path, to_html(TITLE, blocks))
    atomic_files.write_text(md_path, to_markdown(TITLE, blocks, reports / "report_assets"))
    return html_path, md_path, c
