"""Which variant the demo app ships: the one asked for, else the manifest's recommendation (the variant recommended
for most device classes), else fp32. The app runs Paddle-Lite only, so where an ncnn variant is recommended it ships
the best Paddle-Lite variant of that class and says so plainly."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from converter.artifacts import manifest
from converter.schema.manifest_types import Recommended


@dataclass(frozen=True)
class DemoVariant:
    nb: Path
    precision: str
    why: str


def choose_variant(model_dir: Path, precision: str | None = None) -> DemoVariant:
    """The .nb the app ships: `precision` when asked; else the manifest's recommendation (benchmark.report.recommend;
    when device classes disagree, the variant recommended for most of them, a variant any arm64 phone runs winning a
    tie); else fp32, which runs on every arm64 phone. The app runs Paddle-Lite only: where the recommended variant
    is an ncnn one, it ships the best Paddle-Lite variant of that class and says so."""
    data = manifest.read(model_dir)
    if precision:
        return DemoVariant(model_dir / manifest.nb_name("arm", precision), precision, "asked for (DEMO_PRECISION)")
    recs = manifest.current_recommendations(model_dir, data)
    if not recs:
        why = (
            "no recommendation recorded yet (run make bench-emulated PHONE=sd855-arm DATASET=... or "
            "make bench-device with DATASET=...); fp32 runs on every arm64 phone"
        )
        return DemoVariant(model_dir / "arm-fp32.nb", "fp32", why)
    files = data.files if data else {}
    shipped = {cls: _paddle_lite_choice(r) for cls, r in recs.items()}
    votes = Counter(p for p in shipped.values() if p is not None)
    if not votes:
        why = "; ".join(f"{cls}: {_ncnn_note(r, None)}" for cls, r in sorted(recs.items()))
        return DemoVariant(model_dir / "arm-fp32.nb", "fp32", why + "; fp32 runs on every arm64 phone")

    def rank(p: str) -> tuple[int, int, str]:
        entry = files.get(manifest.nb_name("arm", p))
        return (-votes[p], 1 if entry and entry.requires else 0, p)

    chosen = min(votes, key=rank)
    classes = sorted(c for c, p in shipped.items() if p == chosen)
    notes = [f"{cls}: {_ncnn_note(recs[cls], chosen)}" for cls in classes if recs[cls].runtime == "ncnn"]
    plain = [c for c in classes if recs[c].runtime != "ncnn"]
    why = "; ".join(([f"recommended for {', '.join(plain)}"] if plain else []) + notes)
    return DemoVariant(model_dir / manifest.nb_name("arm", chosen), chosen, why)


def _paddle_lite_choice(rec: Recommended) -> str | None:
    """The Paddle-Lite precision the app can ship for one class: the recommended one, or, when the recommended one is
    an ncnn variant, the best Paddle-Lite variant that passed its gate there (None: none did)."""
    if rec.runtime != "ncnn":
        return rec.precision
    passing = [c for c in rec.candidates if c.runtime == "paddle-lite" and c.gate]
    return min(passing, key=lambda c: c.value).precision if passing else None


def _ncnn_note(rec: Recommended, shipped: str | None) -> str:
    """Plainly: the recommended variant is ncnn's, the app runs Paddle-Lite, and what it ships instead."""
    ratio = (
        f" ({rec.vs_best_paddle_lite:.2f}x the best Paddle-Lite variant's figure)" if rec.vs_best_paddle_lite else ""
    )
    text = (
        f"the recommended variant is ncnn {rec.precision}{ratio}, but this demo runs Paddle-Lite only (an ncnn path "
        "in the app is the next step)"
    )
    return text + (f", so it ships Paddle-Lite {shipped}, the best Paddle-Lite variant there" if shipped else "")
