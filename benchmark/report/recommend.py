"""Which variant to ship, per model and device class: among the variants whose accuracy gate passed on that class,
the one with the fewest ARM instructions per inference (an ARM emulated phone: the deterministic cost figure) or
the lowest median latency (a real phone). x86-kernel devices and the host are not the phone's code and recommend
nothing. A variant without a device parity verdict is not eligible: its accuracy on those kernels is unknown."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from converter import manifest
from converter.errors import ToolkitError

Metric = Literal["instructions", "median_ms"]
UNITS: dict[str, str] = {"instructions": "M instr/inf", "median_ms": "median ms"}  # how `Candidate.shown` reads


@dataclass(frozen=True)
class Candidate:
    model: str
    precision: str
    device_class: str
    metric: Metric
    value: float
    gate: bool | None  # device parity verdict; None: not judged on this class
    problems: tuple[str, ...] = ()
    miou: float | None = None  # on the device, labelled images (held out for int8)
    fp32_desktop_miou: float | None = None
    mean_argmax_agreement: float | None = None
    size_bytes: int | None = None
    nb_sha256: str | None = None
    run: str | None = None

    @property
    def shown(self) -> float:
        """The figure in the unit of UNITS: million instructions, or milliseconds."""
        return self.value / 1e6 if self.metric == "instructions" else self.value

    @property
    def status(self) -> str:
        if self.gate is None:
            return "accuracy not measured on this device class"
        return "passes its accuracy gate" if self.gate else "fails its accuracy gate: " + "; ".join(self.problems)


@dataclass(frozen=True)
class Recommendation:
    model: str
    device_class: str
    metric: Metric
    chosen: Candidate | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def why(self) -> str:
        if self.chosen is None:
            return f"no variant passed its accuracy gate on {self.device_class}: nothing is recommended"
        figure = "fewest ARM instructions per inference" if self.metric == "instructions" else "lowest median latency"
        return f"{figure} among the variants that pass their accuracy gate"

    def manifest_entry(self) -> dict[str, Any]:
        c = self.chosen
        return {
            "precision": c.precision if c else None,
            "file": manifest.nb_name("arm", c.precision) if c else None,
            "nb_sha256": c.nb_sha256 if c else None,
            "metric": self.metric,
            "value": c.value if c else None,
            "why": self.why,
            "candidates": [{**asdict(x), "status": x.status} for x in self.candidates],
        }


def device_class(record: dict[str, Any]) -> tuple[str, Metric] | None:
    """The class a latency record speaks for, and the figure that ranks variants there; None for x86 kernels."""
    if record.get("target") != "arm" or record.get("status") != "ok":
        return None
    dev = record.get("device") or {}
    soc = dev.get("soc") or dev.get("board_platform") or dev.get("model") or "unknown SoC"
    if record.get("emulated_cpu"):
        if record.get("instructions_per_inference") is None:
            return None
        return f"{soc} (emulated ARM, QEMU {record['emulated_cpu']})", "instructions"
    if record.get("emulated") or record.get("median_ms") is None:
        return None
    return f"{soc} ({dev.get('model') or 'phone'})", "median_ms"


def candidates(latency: Iterable[dict[str, Any]], parity: Iterable[dict[str, Any]]) -> list[Candidate]:
    """One candidate per (model, device class, precision): the last latency record given wins; its gate is the last
    device-parity summary of the same model, precision and device serial (or the farm record's own)."""
    verdicts = {(p.get("model"), p.get("precision"), p.get("device")): p for p in parity if p.get("model")}
    out: dict[tuple[str, str, str], Candidate] = {}
    for r in latency:
        cls = device_class(r)
        if cls is None:
            continue
        serial = (r.get("device") or {}).get("serial")
        p = r.get("parity") or verdicts.get((r["model"], r["precision"], serial))
        judged = p is not None and not p.get("not_run") and p.get("passed") is not None
        gt = (p or {}).get("ground_truth") or {}
        problems = (
            tuple((p.get("image_problems") or p.get("problems") or []) + (p.get("task_problems") or [])) if p else ()
        )
        if p and p.get("passed") is False and not problems:
            problems = (str(p.get("error") or "an image failed its per-image gate (see the parity run file)"),)
        value = r["instructions_per_inference"] if cls[1] == "instructions" else r["median_ms"]
        out[(r["model"], cls[0], r["precision"])] = Candidate(
            model=r["model"],
            precision=r["precision"],
            device_class=cls[0],
            metric=cls[1],
            value=float(value),
            gate=bool(p["passed"]) if judged and p is not None else None,
            problems=problems,
            miou=(gt.get("candidate") or {}).get("miou"),
            fp32_desktop_miou=(gt.get("reference") or {}).get("miou"),
            mean_argmax_agreement=(p or {}).get("mean_argmax_agreement"),
            size_bytes=(r.get("nb") or {}).get("size_bytes"),
            nb_sha256=(r.get("nb") or {}).get("sha256"),
            run=r.get("_run"),
        )
    return list(out.values())


def recommend(cands: Iterable[Candidate]) -> list[Recommendation]:
    """Per model and device class: the eligible candidate with the smallest figure (ties: the smaller file)."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in cands:
        groups[(c.model, c.device_class)].append(c)
    out = []
    for (model, cls), group in sorted(groups.items()):
        ranked = tuple(sorted(group, key=lambda c: (c.value, c.size_bytes or 0)))
        chosen = next((c for c in ranked if c.gate), None)
        out.append(Recommendation(model, cls, ranked[0].metric, chosen, ranked))
    return out


def write_to_manifests(recommendations: Iterable[Recommendation], models_out: Path) -> list[str]:
    """Each recommendation into its model's manifest (`recommended`, by device class); returns what it could not
    write (a model folder without a manifest), never raises for one model."""
    problems = []
    for rec in recommendations:
        try:
            manifest.set_recommendation(models_out / rec.model, rec.device_class, rec.manifest_entry())
        except ToolkitError as e:
            problems.append(str(e))
    return problems
