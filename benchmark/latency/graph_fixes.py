"""`python -m benchmark graph-fixes`: the converter's graph fixes measured, fixed against unfixed .nb of the same
model, interleaved in one run (the order rotates every round) on the host (Paddle-Lite x86) and on attached or
emulated devices; the median of the per-round ratios is printed per model. Zoo models are converted as usual;
`--paddle26 NAME` adds an architecture from configs/paddle26_exports.yaml re-exported with Paddle 2.6 (what most
users now ship), since the official PP-HumanSeg files are older exports with nothing to fix. Such an export is also
timed against the official old-form export of the same architecture (its `old_form` zoo model): the speed a
graph-form fix can at best recover."""

from __future__ import annotations

import dataclasses
import logging
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from benchmark.device.adb import AdbDevice, AdbServer
from benchmark.device.protocol import Device
from benchmark.device.session import ModelJob, device_session
from benchmark.host.lite import LiteHostRunner
from benchmark.host.perf import perf_nb, timing_input
from benchmark.latency.arm_counts import ARM_PHONE, count_variants
from benchmark.latency.jobs import prepare_jobs
from benchmark.latency.run import BenchSettings, bench_model
from benchmark.records.rows import GraphFixRecord, HostProfileRecord
from converter.artifacts import manifest
from converter.base.errors import ToolkitError
from converter.images.generated import calibration_images
from converter.images.preprocess import preprocess
from converter.pipeline.convert import convert_folder, convert_zoo_model
from converter.pipeline.graph_fix_check import UNFIXED_DIR
from converter.program.graph_fixes import KERNEL_WORKAROUNDS
from converter.schema.manifest_types import GraphFixesInfo, InputPreprocess
from converter.schema.zoo import StandinArchitecture, Zoo
from converter.sources.spec import ModelSources
from converter.standins.store import STANDIN_MARK

log = logging.getLogger("benchmark")
EXPORTS = Path(__file__).resolve().parents[2] / "configs" / "paddle26_exports.yaml"
TARGET_RATIO = 0.85


class _Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    input_shape: tuple[int, int, int, int]
    standin: StandinArchitecture
    old_form: str | None = None


def load_exports(path: Path = EXPORTS) -> dict[str, _Export]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return {e.name: e for e in (_Export.model_validate(x) for x in raw["exports"])}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise ToolkitError(f"{path}: cannot be read: {e}") from None
    except ValidationError as e:
        raise ToolkitError(f"{path}: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}") from None


def paddle26_model(name: str, *, zoo: Zoo, sources: ModelSources) -> tuple[Path, Path | None]:
    """Export (once, cached) and convert an architecture of configs/paddle26_exports.yaml; its model folder and that
    of its old-form zoo model (None when that cannot be had, with the reason logged)."""
    from converter.standins.paddleseg import build_paddleseg_standin

    exports = load_exports()
    if name not in exports:
        raise ToolkitError(f"--paddle26 {name}: not in {EXPORTS} (known: {', '.join(exports)})")
    e = exports[name]
    folder = sources.cache / "paddle26" / name
    if not (folder / STANDIN_MARK).is_file():
        n, c, h, w = e.input_shape
        pre = InputPreprocess.standard(w, h)
        log.info("%s: exporting the architecture with Paddle 2.6 into %s", name, folder)
        build_paddleseg_standin(e.standin, e.input_shape, folder, [preprocess(x, pre) for x in calibration_images()])
    outcome = convert_folder(
        folder, name=name, input_shape=e.input_shape, out_root=sources.out_root, fixes=sources.fixes
    )
    if not outcome.ok or outcome.model_dir is None:
        raise ToolkitError(outcome.error or f"{name}: conversion failed")
    return outcome.model_dir, (_old_form_model(name, e.old_form, zoo=zoo, sources=sources) if e.old_form else None)


def _old_form_model(name: str, zoo_name: str, *, zoo: Zoo, sources: ModelSources) -> Path | None:
    """The old-form export as converted by the zoo (random weights allowed: only timed); None when it cannot be had
    or is not an old-form export after all (a stand-in built without the official graph is a Paddle 2.6 export)."""
    with_standins = dataclasses.replace(sources, fallback="architecture")
    outcome = convert_zoo_model(zoo, zoo_name, sources=with_standins, targets=("arm", "x86"))
    if not outcome.ok or outcome.model_dir is None:
        log.warning("warning: %s: old-form export %s not timed: %s", name, zoo_name, outcome.error or outcome.status)
        return None
    data = manifest.read(outcome.model_dir)
    fixes = data.graph_fixes if data else None
    status = fixes.status if fixes else None
    forms = set(fixes.rewrites_by_kind) - KERNEL_WORKAROUNDS if fixes else set()
    if status not in ("not_needed", "applied") or forms:  # an old form has none of the Paddle 2.5+ forms
        log.warning(
            "warning: %s: %s is not an old-form export here (graph fixes %s; the official graph is needed: "
            "--models-dir with graph_only/, or a download), so it is not timed",
            name,
            zoo_name,
            status,
        )
        return None
    return outcome.model_dir


@dataclass
class Pair:
    name: str
    model_dir: Path
    shape: list[int]
    graph_fixes: GraphFixesInfo | None
    old_form: Path | None = None  # model folder of the official old-form export of the same architecture

    @property
    def comparable(self) -> bool:
        return (self.model_dir / UNFIXED_DIR / "x86-fp32.nb").is_file()

    def arms(self) -> dict[str, Path]:
        """Model folder per timed variant: unfixed, fixed and, when known, the old-form export."""
        arms = {"unfixed": self.model_dir / UNFIXED_DIR, "fixed": self.model_dir}
        if self.old_form is not None:
            arms["old_form"] = self.old_form
        return arms


def _round_order(arms: list[str], r: int) -> list[str]:
    """The variants' order in round r: rotated every round so no variant always runs first or last."""
    k = r % len(arms)
    return arms[k:] + arms[:k]


def host_rounds(pair: Pair, rounds: int, repeats: int, warmup: int) -> GraphFixRecord:
    x = timing_input(pair.model_dir / "x86-fp32.nb")
    files = {kind: folder / "x86-fp32.nb" for kind, folder in pair.arms().items()}
    medians: dict[str, list[float]] = {kind: [] for kind in files}
    worst = 0.0
    for r in range(rounds):
        outs: dict[str, dict[str, NDArray[Any]]] = {}
        for kind in _round_order(list(files), r):
            res = LiteHostRunner(files[kind]).run_batch([[x]] * (warmup + repeats))
            medians[kind].append(float(np.median(res.run_ms[warmup:])))
            outs[kind] = res.outputs[0]
        for name, a in outs["unfixed"].items():
            b = outs["fixed"][name]
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return _summary(pair, "host (Paddle-Lite x86)", medians, worst)


def _summary(pair: Pair, where: str, medians: dict[str, list[float]], worst: float | None) -> GraphFixRecord:
    ratios = [f / u for f, u in zip(medians["fixed"], medians["unfixed"], strict=True)]
    fixes = pair.graph_fixes
    rec = GraphFixRecord(
        model=pair.name,
        where=where,
        rounds=len(ratios),
        unfixed_median_ms=statistics.median(medians["unfixed"]),
        fixed_median_ms=statistics.median(medians["fixed"]),
        ratio_median=statistics.median(ratios),
        ratios=[round(r, 4) for r in ratios],
        rewrites=fixes.rewrites_by_kind if fixes else None,
        x86_ops_before=sum(fixes.ops_before.get("x86", {}).values()) if fixes else 0,
        x86_ops_after=sum(fixes.ops_after.get("x86", {}).values()) if fixes else 0,
        lite_max_abs_diff_fixed_vs_unfixed=worst,
        target_ratio=TARGET_RATIO,
        old_form_model=None,
        old_form_median_ms=None,
        old_form_ratio_median=None,
    )
    if pair.old_form is not None:
        old_data = manifest.read(pair.old_form)
        old_ratios = [o / u for o, u in zip(medians["old_form"], medians["unfixed"], strict=True)]
        rec.set(
            old_form_model=old_data.model if old_data else pair.old_form.name,
            old_form_weights=old_data.weights if old_data else "trained",
            old_form_median_ms=statistics.median(medians["old_form"]),
            old_form_ratio_median=statistics.median(old_ratios),
            old_form_ratios=[round(r, 4) for r in old_ratios],
        )
    return rec


def device_rounds(
    pair: Pair, device: Device, settings: BenchSettings, *, runner: Path | None, run_id: str
) -> GraphFixRecord:
    jobs = {kind: ModelJob(pair.name, folder, pair.shape, None) for kind, folder in pair.arms().items()}
    medians: dict[str, list[float]] = {kind: [] for kind in jobs}
    one_round = BenchSettings(warmup=settings.warmup, repeats=settings.repeats, rounds=1, memory_profile=False)
    with device_session(device, runner=runner, run_id=run_id, keep=False) as ctx:
        for r in range(settings.rounds):
            for kind in _round_order(list(jobs), r):
                rec = bench_model(ctx, jobs[kind], one_round)
                if rec.status != "ok" or rec.median_ms is None:
                    raise ToolkitError(f"{device.serial}: {pair.name} ({kind}): {rec.error}")
                medians[kind].append(rec.median_ms)
    where = f"{device.serial}" + (" (emulated: host timings)" if ctx.info.emulated else "")
    return _summary(pair, where, medians, None)


def add_arm_ratios(rec: GraphFixRecord, pair: Pair, run_id: str) -> None:
    """ARM instructions per inference of each variant and their ratios to the unfixed .nb (deterministic: one count
    each is enough). Without the ARM runtime they are reported as not measured, with the reason."""
    jobs = {kind: ModelJob(pair.name, folder, pair.shape, None) for kind, folder in pair.arms().items()}
    try:
        counts = count_variants(jobs, f"{run_id}-arm")
    except ToolkitError as e:
        log.warning("warning: %s: %s", pair.name, e)
        rec.set(arm_instructions=None, arm_instruction_ratio=None, arm_note=str(e))
        return
    old = counts.get("old_form")
    rec.set(
        arm_instructions=counts,
        arm_instruction_ratio=counts["fixed"] / counts["unfixed"],
        arm_old_form_instruction_ratio=old / counts["unfixed"] if old else None,
        arm_note=f"instructions per inference on {ARM_PHONE} under QEMU, real Paddle-Lite ARM runtime",
    )


def pairs_for(*, zoo: Zoo, sources: ModelSources, models: list[str] | None, paddle26: list[str]) -> list[Pair]:
    """The zoo models (fp32) and Paddle 2.6 exports to compare, converted with and without the fixes."""
    pairs: list[Pair] = []
    if models or not paddle26:
        prepared = prepare_jobs(zoo=zoo, sources=sources, names=models, precisions=["fp32"])
        if prepared.errors:
            raise ToolkitError("; ".join(prepared.errors))
        for job in prepared.jobs:
            data = manifest.read(job.model_dir)
            pairs.append(Pair(job.name, job.model_dir, job.input_shape, data.graph_fixes if data else None))
    for name in paddle26:
        model_dir, old_form = paddle26_model(name, zoo=zoo, sources=sources)
        data = manifest.read(model_dir)
        if data is None:
            raise ToolkitError(f"{model_dir}: no manifest after converting {name}")
        pairs.append(Pair(name, model_dir, list(data.input_shape), data.graph_fixes, old_form))
    return pairs


def device_rows(
    pairs: list[Pair],
    *,
    server: AdbServer,
    serials: list[str],
    settings: BenchSettings,
    runner: Path | None,
    run_id: str,
) -> list[GraphFixRecord]:
    rows = []
    for serial in serials:
        for pair in pairs:
            log.info("%s: %s: fixed vs unfixed, %d interleaved rounds", serial, pair.name, settings.rounds)
            rows.append(device_rounds(pair, AdbDevice(server, serial), settings, runner=runner, run_id=run_id))
    return rows


def kernel_samples(pair: Pair) -> dict[str, HostProfileRecord]:
    """Each variant's x86 .nb sampled with perf on the host, by kernel family."""
    x = timing_input(pair.model_dir / "x86-fp32.nb")
    arms = pair.arms()
    log.info("%s: host: profiling %s with perf", pair.name, ", ".join(arms))
    return {kind: perf_nb(folder / "x86-fp32.nb", x) for kind, folder in arms.items()}
