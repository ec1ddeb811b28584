"""Which variant to ship, per model and device class: among the variants whose accuracy gate passed on that class,
the one with the fewest ARM instructions per inference (an ARM emulated phone: the deterministic cost figure) or
the lowest median latency (a real phone). x86-kernel devices and the host are not the phone's code and recommend
nothing. A variant without a device parity verdict is not eligible: its accuracy on those kernels is unknown."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from benchmark.records.parts import GroundTruth, ParitySummary, Runtime, variant_name, verdict_of
from benchmark.records.rows import VideoRecord, by_variant
from benchmark.records.types import LatencyRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.ncnn.export import PARAM
from converter.pipeline.ncnn_target import NCNN_DIR
from converter.schema.manifest_types import CandidateInfo, Recommended

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
    est_latency_ms: float | None = None  # the cost model's estimate (ARM emulated phones), never measured
    runtime: Runtime = "paddle-lite"
    est_band_pct: float | None = None  # the cost model's leave-one-out RMS error

    @property
    def variant(self) -> str:
        """`fp16`, or `ncnn fp16`: what tables call it."""
        return variant_name(self.runtime, self.precision)

    @property
    def shown(self) -> float:
        """The figure in the unit of UNITS: million instructions, or milliseconds."""
        return self.value / 1e6 if self.metric == "instructions" else self.value

    @property
    def status(self) -> str:
        if self.gate is None:
            return self.problems[0] if self.problems else "accuracy not measured on this device class"
        return "passes its accuracy gate" if self.gate else "fails its accuracy gate: " + "; ".join(self.problems)


@dataclass(frozen=True)
class Recommendation:
    model: str
    device_class: str
    metric: Metric
    chosen: Candidate | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    def vs_fp32(self, c: Candidate) -> tuple[float | None, float | None]:
        """The candidate's figure and estimated latency as fractions of Paddle-Lite fp32's (None: no fp32)."""
        fp32 = next(
            (
                x
                for x in self.candidates
                if x.precision == "fp32" and x.runtime == "paddle-lite" and math.isfinite(x.value)
            ),
            None,
        )
        if fp32 is None or not fp32.value:
            return None, None
        est = c.est_latency_ms / fp32.est_latency_ms if c.est_latency_ms and fp32.est_latency_ms else None
        return c.value / fp32.value, est

    @property
    def best_paddle_lite(self) -> Candidate | None:
        """The Paddle-Lite variant that would be shipped without the other runtimes."""
        return next((x for x in self.candidates if x.gate and x.runtime == "paddle-lite"), None)

    @property
    def vs_best_paddle_lite(self) -> float | None:
        """The chosen variant's figure as a fraction of the best passing Paddle-Lite variant's (when it is not one)."""
        best, c = self.best_paddle_lite, self.chosen
        if c is None or best is None or c.runtime == "paddle-lite" or not best.value:
            return None
        return c.value / best.value

    @property
    def why(self) -> str:
        if self.chosen is None:
            return f"no variant passed its accuracy gate on {self.device_class}: nothing is recommended"
        figure = "fewest ARM instructions per inference" if self.metric == "instructions" else "lowest median latency"
        text = f"{figure} among the variants that pass their accuracy gate"
        ratio, best = self.vs_best_paddle_lite, self.best_paddle_lite
        if ratio is not None and best is not None:
            unit = UNITS[self.metric]
            text += f": {ratio:.2f}x the best Paddle-Lite variant's ({best.precision}, {best.shown:.2f} {unit})"
        elif self.chosen.runtime != "paddle-lite":
            text += "; no Paddle-Lite variant passed its gate"
        return text

    def manifest_entry(self) -> Recommended:
        c = self.chosen
        return Recommended(
            runtime=c.runtime if c else None,
            precision=c.precision if c else None,
            file=_file(c) if c else None,
            nb_sha256=c.nb_sha256 if c else None,
            vs_best_paddle_lite=self.vs_best_paddle_lite,
            metric=self.metric,
            value=c.value if c else None,
            why=self.why,
            candidates=[
                CandidateInfo(**{**asdict(x), "problems": list(x.problems)}, status=x.status) for x in self.candidates
            ],  # fmt: skip
        )


def _file(c: Candidate) -> str:
    """The chosen variant's file, relative to the model folder."""
    return f"{NCNN_DIR}/{PARAM}" if c.runtime == "ncnn" else manifest.nb_name("arm", c.precision)


def device_class(record: LatencyRecord) -> tuple[str, Metric] | None:
    """The class a latency record speaks for, and the figure that ranks variants there; None for x86 kernels (and
    for a record that did not say where it ran)."""
    if record.target != "arm":
        return None
    dev = record.device
    soc = dev.soc or dev.board_platform or dev.model or "unknown SoC"
    if record.emulated_cpu:
        return f"{soc} (emulated ARM, QEMU {record.emulated_cpu})", "instructions"
    if record.emulated:
        return None
    return f"{soc} ({dev.model or 'phone'})", "median_ms"


QUANTIZED_NEED_LABELS = (
    "accuracy not judged: a reduced-precision variant (fp16, quantized) is recommended only when judged on labelled "
    "images (DATASET=)"
)


def _verdict_key(model: str | None, runtime: str, precision: str | None, *ran: str | None) -> tuple[str | None, ...]:
    """A variant's verdict is of one file (sha256) on one device (serial) in one run (run id): `ran`."""
    return (model, runtime, precision, *ran)


def candidates(latency: Iterable[LatencyRecord], parity: Iterable[ParitySummary]) -> list[Candidate]:
    """One candidate per (model, device class, precision): the newest latency record given (oldest first) wins, also
    when it failed (then the variant is not eligible: an older passing record never stands for the newest .nb). Its
    gate is the device-parity summary of the same .nb (sha256) in the same run on the same device, or the farm
    record's own; a reduced-precision variant's gate counts only when it was judged on labelled images."""
    verdicts = {
        _verdict_key(p.model, p.runtime, p.precision, p.device, p.nb_sha256, p.run_id): p for p in parity if p.model
    }
    out: dict[tuple[str, str, str, str], Candidate] = {}
    for r in latency:
        cls = device_class(r)
        if cls is None:
            continue
        key = (r.model, cls[0], r.runtime, r.precision)
        if r.status == "skipped":  # this class cannot run the variant (fp16 on an A53): not a candidate
            out.pop(key, None)
            continue
        sha = r.nb.sha256 if r.nb else None
        value = r.instructions_per_inference if cls[1] == "instructions" else r.median_ms
        if r.status != "ok" or value is None:
            why = str(r.error or "no figure").splitlines()[0]
            failed = (f"its newest run failed: {why}",)
            out[key] = Candidate(r.model, r.precision, cls[0], cls[1], math.inf, False, failed,
                                 nb_sha256=sha, run=r.run_file, runtime=r.runtime)  # fmt: skip
            continue
        run_id = r.run_id or r.farm_run_id
        p = r.parity or verdicts.get(_verdict_key(r.model, r.runtime, r.precision, r.device.serial, sha, run_id))
        out[key] = _candidate(r, cls, float(value), p)
    return list(out.values())


def _candidate(r: LatencyRecord, cls: tuple[str, Metric], value: float, p: ParitySummary | None) -> Candidate:
    verdict = verdict_of(p)
    gt = p.ground_truth if p else GroundTruth()
    miou = gt.candidate.miou
    problems: tuple[str, ...] = ()
    if p is not None:
        problems = (*p.problems, *p.task_problems)
        if verdict == "fail" and not problems:
            problems = (p.error or "an image failed its per-image gate (see the parity run file)",)
    gate = {"pass": True, "fail": False}.get(verdict or "")
    if gate and r.precision != "fp32" and miou is None:  # judged on the task: labelled images needed
        gate, problems = None, (QUANTIZED_NEED_LABELS,)
    return Candidate(
        model=r.model,
        precision=r.precision,
        device_class=cls[0],
        metric=cls[1],
        value=value,
        gate=gate,
        problems=problems,
        miou=miou,
        fp32_desktop_miou=gt.reference.miou,
        mean_argmax_agreement=p.mean_argmax_agreement if p else None,
        size_bytes=r.nb.size_bytes if r.nb else None,
        nb_sha256=r.nb.sha256 if r.nb else None,
        run=r.run_file,
        est_latency_ms=r.estimate.est_latency_ms if r.estimate else None,
        runtime=r.runtime,
        est_band_pct=r.estimate.error_band_pct if r.estimate else None,
    )


FLICKER_ABS = 0.01  # flicker (fraction of the boundary band) a variant may add to fp32's before it counts
FLICKER_REL = 0.25  # ... or this share of fp32's own flicker, whichever is larger


def flicker_gate(cands: Iterable[Candidate], video: Iterable[VideoRecord]) -> list[Candidate]:
    """A reduced-precision variant whose mask flickers clearly more than fp32's on the same video sequences (mean
    over the sequences of a video-check) is not eligible; the problem names both figures."""
    flicker = {k: sum(r.flicker for r in rs) / len(rs) for k, rs in by_variant(video).items()}
    out = []
    for cand in cands:
        mine = flicker.get((cand.model, cand.variant))  # video-check names variants as tables do: fp16, ncnn fp16
        fp32 = flicker.get((cand.model, variant_name(cand.runtime, "fp32")), flicker.get((cand.model, "fp32")))
        if cand.precision != "fp32" and cand.gate and mine is not None and fp32 is not None:
            if mine > fp32 + max(FLICKER_ABS, FLICKER_REL * fp32):
                problem = f"its mask flickers clearly more than fp32's in video-check: {mine:.3f} vs {fp32:.3f}"
                cand = replace(cand, gate=False, problems=(*cand.problems, problem))  # noqa: PLW2901
        out.append(cand)
    return out


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
