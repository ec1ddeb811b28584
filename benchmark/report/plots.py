"""Report figures (matplotlib, Agg): PNG bytes."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.ticker import MaxNLocator  # noqa: E402

from benchmark.farm.history import TrendPoint
from benchmark.records.types import LatencyRecord  # noqa: E402
from converter.schema.manifest_types import Manifest


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _label(rec: LatencyRecord) -> str:
    dev = rec.device
    tag = " (host-emulated)" if rec.emulated else ""
    return f"{dev.model or dev.serial}{tag}"


def latency_vs_seed(records: list[LatencyRecord]) -> bytes:
    ok = [r for r in records if r.status == "ok" and r.median_ms is not None]
    models = sorted({r.model for r in ok})
    devices = sorted({_label(r) for r in ok})
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / (len(devices) + 1)
    for i, dev in enumerate(devices):
        values = [next((r.median_ms or 0.0 for r in ok if r.model == m and _label(r) == dev), 0.0) for m in models]
        ax.bar([j + i * width for j in range(len(models))], values, width, label=f"{dev} median")
    seeds = [next((r.seed_ms for r in ok if r.model == m), None) or 0.0 for m in models]
    ax.bar(
        [j + len(devices) * width for j in range(len(models))],
        seeds,
        width,
        label="seed: Snapdragon 855",
        color="grey",
        hatch="//",
    )
    ax.set_xticks([j + width * len(devices) / 2 for j in range(len(models))])
    ax.set_xticklabels([m.replace("_pp_humanseg", "\n") for m in models], fontsize=7)
    ax.set_ylabel("latency, ms (1 thread)")
    ax.set_title("Median latency per model vs the seed's Snapdragon 855 figure")
    ax.legend(fontsize=7)
    return _png(fig)


def instructions_per_variant(records: list[LatencyRecord]) -> bytes:
    """Guest instructions per inference for each model and precision on ARM emulated phones (QEMU)."""
    ok = sorted(
        (r for r in records if r.status == "ok" and r.instructions_per_inference),
        key=lambda r: (r.model, r.precision, r.emulated_cpu or ""),
    )
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [f"{r.model.replace('_pp_humanseg', ' ')}\n{r.precision} ({r.emulated_cpu})" for r in ok]
    ax.bar(range(len(ok)), [(r.instructions_per_inference or 0) / 1e6 for r in ok], color="tab:purple")
    ax.set_xticks(range(len(ok)))
    ax.set_xticklabels(labels, fontsize=6)
    ax.set_ylabel("million instructions per inference")
    ax.set_title("ARM instructions per inference under QEMU (a cost figure, not a latency)")
    return _png(fig)


def rounds_distribution(records: list[LatencyRecord]) -> bytes:
    ok = [r for r in records if r.status == "ok" and r.rounds_ms]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.boxplot([r.rounds_ms or [] for r in ok], showmeans=True)
    ax.set_xticks(range(1, len(ok) + 1))
    ax.set_xticklabels([f"{r.model.replace('_pp_humanseg', chr(10))}\n{_label(r)}" for r in ok], fontsize=6)
    ax.set_ylabel("round average, ms")
    ax.set_title("Distribution of rounds per model")
    return _png(fig)


def latency_over_rounds(records: list[LatencyRecord]) -> bytes:
    fig, ax = plt.subplots(figsize=(9, 4))
    for r in records:
        if r.status == "ok" and r.rounds_ms:
            x = r.round_started_s or list(range(len(r.rounds_ms)))
            ax.plot(x, r.rounds_ms, marker="o", markersize=3, label=f"{r.model} / {_label(r)}")
    ax.set_xlabel("seconds since the model's first round")
    ax.set_ylabel("round average, ms")
    ax.set_title("Latency over rounds (a rising line means throttling)")
    ax.legend(fontsize=6)
    return _png(fig)


def size_per_precision(manifests: list[Manifest]) -> bytes:
    sizes: dict[str, dict[str, float]] = defaultdict(dict)
    for m in manifests:
        for name, entry in m.files.items():
            sizes[name.removesuffix(".nb")][m.model] = entry.size_bytes / 1e6
    models = sorted({m for per in sizes.values() for m in per})
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(len(sizes), 1)
    for i, (variant, per) in enumerate(sorted(sizes.items())):
        ax.bar([j + i * width for j in range(len(models))], [per.get(m, 0.0) for m in models], width, label=variant)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(models))])
    ax.set_xticklabels([m.replace("_pp_humanseg", "\n") for m in models], fontsize=7)
    ax.set_ylabel(".nb size, MB")
    ax.set_title("Model size per target and precision")
    ax.legend(fontsize=7)
    return _png(fig)


def latency_vs_pixels(records: list[LatencyRecord], model: str) -> bytes:
    points = [(r.pixels, r.median_ms, r) for r in records if r.status == "ok" and r.pixels and r.median_ms is not None]
    ok = sorted(points, key=lambda p: p[0])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([p for p, _, _ in ok], [ms for _, ms, _ in ok], marker="o")
    for pixels, ms, r in ok:
        ax.annotate(
            "x".join(map(str, r.shape_wh or [])),
            (pixels, ms),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
        if r.best:
            ax.scatter([pixels], [ms], s=160, facecolors="none", edgecolors="red", label="zoo best")
    ax.set_xlabel("pixels (W x H)")
    ax.set_ylabel("median latency, ms")
    ax.set_title(f"{model}: latency vs input size" + (" (host-emulated)" if ok and ok[0][2].emulated else ""))
    if any(r.best for _, _, r in ok):
        ax.legend(fontsize=7)
    return _png(fig)


def farm_trends(series: list[TrendPoint], max_panels: int = 24) -> bytes:
    """One small panel per (device, model, precision): median latency over the farm runs in the history."""
    by_key: dict[tuple[str, str, str], list[tuple[int, float]]] = defaultdict(list)
    run_index = {run: i for i, run in enumerate(dict.fromkeys(p.run_id for p in series))}
    for p in series:
        by_key[(p.device_key, p.model, p.precision)].append((run_index[p.run_id], p.median_ms))
    keys = sorted(by_key)[:max_panels]
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        points = by_key[key]
        ax.plot([x for x, _ in points], [y for _, y in points], marker="o")
        ax.set_title(f"{key[0]}\n{key[1]} {key[2]}", fontsize=7)
        ax.set_xlabel("farm run #", fontsize=7)
        ax.set_ylabel("median ms", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    return _png(fig)


@dataclass(frozen=True)
class ParetoPoint:
    """One variant on the cost vs accuracy plot."""

    x: float
    miou: float | None
    gate: bool
    chosen: bool
    label: str


def pareto(groups: list[tuple[str, str, list[ParetoPoint]]], max_panels: int = 12) -> bytes:
    """Cost vs accuracy per variant, one panel per model and device class: x the cost (million ARM instructions per
    inference, or median ms on a phone), y the mIoU on the device; filled: passes its accuracy gate, hollow: fails
    or unjudged; the recommended variant ringed; the dashed line joins the Pareto-optimal variants among those that
    pass (no other passing variant is both cheaper and more accurate)."""
    shown = groups[:max_panels]
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (title, xlabel, points) in zip(axes.flat, shown, strict=False):
        pts = sorted((p for p in points if p.miou is not None), key=lambda p: p.x)
        front, best = [], -1.0
        for p in pts:
            if p.gate and (p.miou or 0.0) > best:
                front.append(p)
                best = p.miou or 0.0
        ax.plot([p.x for p in front], [100 * (p.miou or 0.0) for p in front], "--", color="grey", lw=1)
        for p in pts:
            y = 100 * (p.miou or 0.0)
            face = "tab:green" if p.gate else "none"
            ax.scatter(p.x, y, s=60, facecolors=face, edgecolors="tab:green" if p.gate else "tab:red")
            if p.chosen:
                ax.scatter(p.x, y, s=240, facecolors="none", edgecolors="black", linewidths=1.5)
            ax.annotate(p.label, (p.x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("mIoU on the device, %", fontsize=8)
        ax.margins(0.2)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    return _png(fig)


def cost_families(records: list[LatencyRecord]) -> bytes:
    """A stacked bar per model x variant: million instructions per inference by kernel family."""
    recs = sorted((r for r in records if r.cost_profile), key=lambda r: (r.model, r.precision))
    families: list[str] = []
    for r in recs:
        assert r.cost_profile is not None
        families += [f for f in r.cost_profile.families if f not in families]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    bottom = [0.0] * len(recs)
    cmap = plt.get_cmap("tab20")
    for i, fam in enumerate(families):
        values = [(r.cost_profile.families.get(fam, 0) if r.cost_profile else 0) / 1e6 for r in recs]
        ax.bar(range(len(recs)), values, bottom=bottom, label=fam, color=cmap(i % 20))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(range(len(recs)))
    ax.set_xticklabels([f"{r.model.replace('_pp_humanseg', ' ')}\n{r.precision}" for r in recs], fontsize=6)
    ax.set_ylabel("million instructions per inference")
    ax.set_title("ARM instructions per inference by kernel family (QEMU; a cost figure, not a latency)")
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    return _png(fig)
