"""Sections of the report, from the collected run files and manifests."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmark.records.parts import DeviceSummary, variant_name
from benchmark.records.types import LatencyRecord
from benchmark.report import plots
from benchmark.report.collect import Collected, collect
from benchmark.report.cost_view import cost_section
from benchmark.report.decision_view import decision_section
from benchmark.report.document import Block, Heading, Image, Paragraph, Table, cell_num, to_html, to_markdown
from benchmark.report.farm_view import farm_section
from benchmark.report.graph_fix_view import graph_fix_section, host_profile_section
from benchmark.report.models_view import FLOP_PER_CYCLE, models_section
from benchmark.report.parity_view import accuracy_section, parity_section
from benchmark.report.recommend_view import int8_study_section, recommendation_section
from benchmark.report.runtimes_view import runtimes_section
from benchmark.report.video_view import video_section
from converter.artifacts.manifest import toolkit_version
from converter.base import atomic_files
from converter.schema.manifest_types import ModelStats

TITLE = "Paddle-Lite deployment report"
EMULATED_NOTE = (
    "host-emulated device: these are Paddle-Lite x86 timings of the machine that ran the emulated "
    "device, not phone timings"
)


QEMU_NOTE = (
    "ARM emulated phone: the real Paddle-Lite ARM runtime and benchmark_bin ran under qemu-aarch64 -cpu {cpu} on "
    "the host. Its milliseconds are emulation time, never phone time (QEMU emulates FP16 in software, so fp16 looks "
    "slower than fp32 here); instructions per inference are deterministic and count ARM work, but they are not a "
    "latency (no caches, pipelines or clock)."
)


def _runtime_cpu(recs: list[LatencyRecord]) -> str:
    cpu = next((r.runtime_cpu for r in recs if r.runtime_cpu), None)
    if not cpu:
        return "- (the runner logs nothing)"
    return f"{cpu.name}; cores: {', '.join(cpu.core_archs) or '-'}"


def _seed(x: Any) -> str:
    return str(x) if isinstance(x, (int, float)) else "-"  # as published: 15.86, 12.3


def _cpus(dev: DeviceSummary) -> str:
    groups: dict[int, int] = defaultdict(int)
    for c in dev.cpus:
        if c.max_khz:
            groups[c.max_khz] += 1
    return " + ".join(f"{n}x {khz / 1e6:.2f} GHz" for khz, n in sorted(groups.items())) or "-"


def physical_limit(r: LatencyRecord, stats: ModelStats | None) -> str:
    """Latency as a fraction of the big core's limit: conv FLOPs / (max frequency x FLOP per cycle) / latency."""
    if r.emulated:
        return "n/a (emulated)"
    freqs = [c.max_khz for c in r.device.cpus if c.max_khz]
    if not stats or not stats.conv_flops or not freqs or r.status != "ok" or not r.median_ms:
        return "-"
    ideal_ms = stats.conv_flops / (max(freqs) * 1e3 * FLOP_PER_CYCLE) * 1e3
    return f"{ideal_ms / r.median_ms:.0%}"


LATENCY_HEAD = [
    "model",
    "input (NCHW)",
    "precision",
    "median ms",
    "p90 ms",
    "CV",
    "first ms",
    "load (init) ms",
    "M instructions / inference",
    "estimated phone ms (cost model, not measured)",
    "rounds x runs",
    "peak MB",
    "seed SD855 ms",
    "ratio",
    "weights",
    "of physical limit",
    "status",
]


def _device_facts(dev: DeviceSummary, recs: list[LatencyRecord]) -> Table:
    info = [
        ["serial number", dev.serialno],
        ["SoC", dev.soc],
        ["ABI", dev.abi],
        ["Android (SDK)", f"{dev.android} ({dev.sdk})"],
        ["CPU clusters", _cpus(dev)],
        ["big / prime cores", f"{dev.big_cpus} / {dev.prime_cpus}"],
        ["battery", f"{dev.battery_level} %, {dev.battery_temp_c} °C"],
        ["CPU the runtime detected", _runtime_cpu(recs)],
        ["thread binding", next((r.thread_binding for r in recs if r.thread_binding), "-")],
    ]
    return Table(["device", "value"], info)


def _thermal_table(recs: list[LatencyRecord]) -> Table:
    rows = []
    for r in recs:
        before, after = r.temps_before or {}, r.temps_after or {}
        wait = r.thermal_wait
        rows.append(
            [
                r.model,
                cell_num(max((t for t in before.values() if t is not None), default=None), ".1f"),
                cell_num(max((t for t in after.values() if t is not None), default=None), ".1f"),
                cell_num(wait.waited_s if wait else None, ".0f"),
                "yes" if wait and wait.timed_out else "no",
                "; ".join(r.warnings) or "-",
            ]
        )
    return Table(["model", "before", "after", "waited s", "bound reached", "warnings"], rows, {1, 2, 3})


def _estimate(r: LatencyRecord) -> str:
    e = r.estimate
    if e is None:
        return "-"
    band = f" ±{e.error_band_pct:.0f} %" if e.error_band_pct is not None else ""
    worst = f", worst {e.error_max_pct:.0f} %" if e.error_max_pct is not None else ""
    return f"{e.est_latency_ms:.2f}{band} ({e.cost_model}{worst})"


def _latency_row(r: LatencyRecord, stats: ModelStats | None) -> list[str]:
    seed = r.seed_ms
    # an emulated device's timing is not a phone timing: no ratio against the seed's phone figure
    ratio = r.median_ms / seed if r.median_ms is not None and seed and not r.emulated else None
    insns = r.instructions_per_inference
    return [
        r.model,
        "x".join(map(str, r.input_shape)),
        variant_name(r.runtime, r.precision),
        cell_num(r.median_ms, ".2f"),
        cell_num(r.p90_ms, ".2f"),
        cell_num(r.cv, ".1%"),
        cell_num(r.first_ms, ".2f"),
        cell_num(r.init_ms, ".1f"),
        cell_num(insns / 1e6 if insns else None, ".2f"),
        _estimate(r),
        f"{r.rounds or '-'} x {r.repeats or '-'}",
        cell_num(r.peak_memory_mb, ".0f"),
        _seed(seed),
        "n/a (emulated)" if r.emulated else cell_num(ratio, ".2f"),
        r.weights or "trained",
        physical_limit(r, stats),
        r.status,
    ]


def devices_section(c: Collected) -> list[Block]:
    records = c.latest_latency()
    blocks: list[Block] = [Heading(2, "Devices and latency", "devices")]
    if not records:
        return [*blocks, Paragraph("No latency run file found (run `make bench-device` or `make bench-emulated`).")]
    stats = {m.model: m.model_stats for m in c.manifests}
    by_dev: dict[str, list[LatencyRecord]] = defaultdict(list)
    for r in records:
        by_dev[r.device.serial].append(r)
    for serial, recs in sorted(by_dev.items()):
        dev = recs[0].device
        blocks.append(Heading(3, f"{dev.brand} {dev.model} ({serial})".strip()))
        if any(r.emulated_cpu for r in recs):
            blocks.append(Paragraph(QEMU_NOTE.format(cpu=recs[0].emulated_cpu), note=True))
        elif any(r.emulated for r in recs):
            blocks.append(Paragraph(EMULATED_NOTE, note=True))
        blocks += [_device_facts(dev, recs), Paragraph("Thermal notes (hottest zone, °C; waits before each model)")]
        blocks.append(_thermal_table(recs))
        rows = [_latency_row(r, stats.get(r.model)) for r in recs]
        blocks.append(Table(LATENCY_HEAD, rows, {3, 4, 5, 6, 7, 8, 9, 11, 12, 13}))
    return blocks


def plots_section(c: Collected) -> list[Block]:
    records = c.latest_latency()
    blocks: list[Block] = [Heading(2, "Plots", "plots")]
    phones = [r for r in records if not r.emulated]
    if phones:  # emulated timings are never set beside the seed's phone figures
        blocks.append(
            Image("latency_vs_seed.png", "Latency per model vs the seed's figure", plots.latency_vs_seed(phones))
        )
    counted = [r for r in records if r.instructions_per_inference]
    if counted:
        blocks.append(
            Image("instructions.png", "ARM instructions per inference (QEMU)", plots.instructions_per_variant(counted))
        )
    if records:
        blocks += [
            Image("rounds_distribution.png", "Distribution of rounds per model", plots.rounds_distribution(records)),
            Image("latency_over_rounds.png", "Latency over rounds", plots.latency_over_rounds(records)),
        ]
    if c.manifests:
        blocks.append(
            Image("size_per_precision.png", "Model size per precision", plots.size_per_precision(c.manifests))
        )
    return blocks


def build_report(reports: Path, models: Path, history: str | Path | None = None) -> tuple[Path, Path, Collected]:
    c = collect(reports, models)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    blocks: list[Block] = [
        Paragraph(
            f"Generated {now} by pp-lite-toolkit {toolkit_version()} from "
            f"{len(c.files)} run file(s) and {len(c.manifests)} manifest(s)."
        )
    ]
    blocks += decision_section(c) + recommendation_section(c) + devices_section(c) + farm_section(c, history)
    blocks += plots_section(c)
    blocks += cost_section(c) + runtimes_section(c)
    blocks += parity_section(c) + int8_study_section(c) + video_section(c)
    blocks += accuracy_section(c) + graph_fix_section(c) + host_profile_section(c) + models_section(c)
    if c.warnings:
        blocks += [Heading(2, "Skipped files"), Table(["warning"], [[w] for w in c.warnings])]
    html_path, md_path = reports / "index.html", reports / "report.md"
    atomic_files.write_text(html_path, to_html(TITLE, blocks))
    atomic_files.write_text(md_path, to_markdown(TITLE, blocks, reports / "report_assets"))
    return html_path, md_path, c
